"""Pad per-image lists of boxes into batch tensors with a validity mask."""
from __future__ import annotations

import torch
from torch import Tensor
from torch.nn.utils.rnn import pad_sequence


def pad_instances(tensors: list[Tensor], pad_value: float = 0) -> tuple[Tensor, Tensor]:
    """Stack ``B`` tensors ``(n_i, *rest)`` into ``(B, max(n_i), *rest)``.

    Returns the padded tensor and a ``(B, max(n_i))`` bool mask, True at real entries.
    """
    if not tensors:
        raise ValueError('pad_instances needs at least one tensor')
    padded = pad_sequence(list(tensors), batch_first=True, padding_value=pad_value)
    lengths = torch.tensor([t.size(0) for t in tensors], device=padded.device)
    valid = torch.arange(padded.size(1), device=padded.device)[None, :] < lengths[:, None]
    return padded, valid

