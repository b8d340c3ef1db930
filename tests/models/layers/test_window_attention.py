"""Swin's window attention against a per-window reference written here, the shifted-window
mask against one written by hand, and drop-path."""
from __future__ import annotations

import pytest
import torch
from mmcv.cnn.bricks.drop import DropPath

from mmssd.models.layers import ShiftWindowMSA
from mmssd.models.layers.window_attention import shifted_window_mask

M = -100.0


def reference_attention(module: ShiftWindowMSA, query: torch.Tensor,
                        hw: tuple[int, int]) -> torch.Tensor:
    """Straightforward Swin attention: one window at a time, one head at a time, the bias
    and the shift mask looked up token pair by token pair."""
    msa, ws, shift = module.w_msa, module.window_size, module.shift_size
    b, _, c = query.shape
    h, w = hw
    hp, wp = -(-h // ws) * ws, -(-w // ws) * ws
    x = torch.zeros(b, hp, wp, c)
    x[:, :h, :w] = query.view(b, h, w, c)
    x = torch.roll(x, (-shift, -shift), (1, 2))

    def region(pos: int, size: int) -> bool:  # did the cyclic shift wrap this coordinate?
        return pos >= size - shift

    heads, d = msa.num_heads, c // msa.num_heads
    table = msa.relative_position_bias_table
    out = torch.zeros_like(x)
    for i in range(b):
        for r0 in range(0, hp, ws):
            for c0 in range(0, wp, ws):
                cells = [(r0 + r, c0 + cc) for r in range(ws) for cc in range(ws)]
                tokens = torch.stack([x[i, r, cc] for r, cc in cells])  # (N, C)
                q, k, v = msa.qkv(tokens).split(c, dim=1)
                result = []
                for head in range(heads):
                    part = slice(head * d, (head + 1) * d)
                    logits = q[:, part] @ k[:, part].T * msa.scale
                    for a, (ra, ca) in enumerate(cells):
                        for e, (re, ce) in enumerate(cells):
                            row = (ra - re + ws - 1) * (2 * ws - 1) + (ca - ce + ws - 1)
                            logits[a, e] += table[row, head]
                            if shift and (region(ra, hp), region(ca, wp)) != (
                                    region(re, hp), region(ce, wp)):
                                logits[a, e] += M
                    result.append(logits.softmax(-1) @ v[:, part])
                window = msa.proj(torch.cat(result, dim=1))
                for n, (r, cc) in enumerate(cells):
                    out[i, r, cc] = window[n]
    out = torch.roll(out, (shift, shift), (1, 2))
    return out[:, :h, :w].reshape(b, h * w, c)


@pytest.mark.parametrize(('shift', 'hw'), [(0, (6, 9)), (2, (6, 9)), (2, (8, 8))])
def test_window_attention_equals_per_window_reference(shift, hw):
    """Batched over windows and heads; with and without shift, with padding (6x9 -> 8x12)."""
    torch.manual_seed(0)
    module = ShiftWindowMSA(embed_dims=8, num_heads=2, window_size=4, shift_size=shift).eval()
    with torch.no_grad():
        module.w_msa.relative_position_bias_table.normal_()
        query = torch.randn(2, hw[0] * hw[1], 8)
        torch.testing.assert_close(module(query, hw), reference_attention(module, query, hw),
                                   rtol=1e-4, atol=1e-5)


def test_shifted_window_mask_by_hand():
    """4x4 map, 2x2 windows, shift 1: regions rows/cols {0,1}, {2}, {3}."""
    mask = shifted_window_mask(4, 4, 2, 1, torch.device('cpu'))
    z = 0.0
    expected = torch.tensor([
        [[z, z, z, z], [z, z, z, z], [z, z, z, z], [z, z, z, z]],  # all one region
        [[z, M, z, M], [M, z, M, z], [z, M, z, M], [M, z, M, z]],  # columns 2 | 3
        [[z, z, M, M], [z, z, M, M], [M, M, z, z], [M, M, z, z]],  # rows 2 | 3
        [[z, M, M, M], [M, z, M, M], [M, M, z, M], [M, M, M, z]],  # four regions
    ])
    torch.testing.assert_close(mask, expected, rtol=0, atol=0)
    assert shifted_window_mask(4, 4, 2, 1, torch.device('cpu')) is mask  # cached


def test_drop_path_identity_in_eval_and_scaled_in_train():
    torch.manual_seed(0)
    drop = DropPath(0.25)
    x = torch.rand(4000, 3, 5) + 0.5
    assert torch.equal(drop.eval()(x), x)
    out = drop.train()(x)
    kept = (out != 0).flatten(1).all(1)
    assert torch.equal(kept, (out != 0).flatten(1).any(1))  # whole samples dropped or kept
    torch.testing.assert_close(out[kept], x[kept] / 0.75)
    assert abs(kept.float().mean().item() - 0.75) < 0.03
