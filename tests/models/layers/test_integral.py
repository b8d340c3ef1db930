"""GFL's Integral: the expectation of the softmax distribution over ``0..reg_max``."""
from __future__ import annotations

import pytest
import torch

from mmssd.models.layers import Integral


def test_integral_is_the_expected_bin() -> None:
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 5, 4 * 17, generator=g)
    got = Integral(16)(logits)
    probs = logits.view(2, 5, 4, 17).softmax(-1)
    want = sum(probs[..., k] * k for k in range(17))
    torch.testing.assert_close(got, want)
    peaked = torch.full((1, 4 * 17), -1e4)
    peaked[0, [3, 17 + 0, 34 + 16, 51 + 9]] = 0.0
    assert Integral(16)(peaked).tolist() == [[3.0, 0.0, 16.0, 9.0]]
    assert list(Integral(16).state_dict()) == ['project']
    with pytest.raises(ValueError, match='68'):
        Integral(16)(torch.zeros(3, 60))
