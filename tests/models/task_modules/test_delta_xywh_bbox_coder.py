"""Box coder: round trip, hand-computed decoding, clipping, batched inputs."""
import math

import torch

from mmssd.registry import TASK_UTILS

CODER = {'type': 'DeltaXYWHBBoxCoder', 'target_means': [0., 0., 0., 0.],
         'target_stds': [0.1, 0.1, 0.2, 0.2]}


def random_boxes(n: int, generator: torch.Generator) -> torch.Tensor:
    xy = torch.rand(n, 2, generator=generator) * 100
    wh = torch.rand(n, 2, generator=generator) * 50 + 1
    return torch.cat([xy, xy + wh], dim=1)


def test_round_trip():
    g = torch.Generator().manual_seed(0)
    coder = TASK_UTILS.build(CODER)
    anchors, gts = random_boxes(50, g), random_boxes(50, g)
    deltas = coder.encode(anchors, gts)
    torch.testing.assert_close(coder.decode(anchors, deltas), gts, rtol=1e-5, atol=1e-4)


def test_decode_known_deltas():
    coder = TASK_UTILS.build(CODER)
    anchor = torch.tensor([[0., 0., 10., 20.]])  # centre (5, 10), size 10 x 20
    deltas = torch.tensor([[1., -1., 0., 5 * math.log(2)]])  # dx .1, dy -.1, dh log 2
    torch.testing.assert_close(coder.decode(anchor, deltas),
                               torch.tensor([[1., -12., 11., 28.]]))
    torch.testing.assert_close(coder.decode(anchor, deltas, max_shape=(20, 10)),
                               torch.tensor([[1., 0., 10., 20.]]))
    torch.testing.assert_close(coder.encode(anchor, torch.tensor([[1., -12., 11., 28.]])), deltas)


def test_wh_ratio_clip():
    coder = TASK_UTILS.build({'type': 'DeltaXYWHBBoxCoder'})
    box = coder.decode(torch.tensor([[0., 0., 1., 1.]]), torch.tensor([[0., 0., 100., 0.]]))
    width = box[0, 2] - box[0, 0]
    torch.testing.assert_close(width, torch.tensor(1000 / 16))


def test_batched_leading_dims_and_per_image_shapes():
    g = torch.Generator().manual_seed(1)
    coder = TASK_UTILS.build(CODER)
    anchors = random_boxes(12, g).view(2, 6, 4)
    deltas = torch.randn(2, 6, 4, generator=g)
    shapes = torch.tensor([[30., 40.], [60., 20.]])
    batched = coder.decode(anchors, deltas, max_shape=shapes)
    for i in range(2):
        single = coder.decode(anchors[i], deltas[i], max_shape=tuple(shapes[i].tolist()))
        torch.testing.assert_close(batched[i], single)
    gts = random_boxes(12, g).view(2, 6, 4)
    torch.testing.assert_close(coder.encode(anchors, gts).view(-1, 4),
                               coder.encode(anchors.view(-1, 4), gts.view(-1, 4)))


def test_decode_equals_paper_formula():
    """``centre + delta * std * size`` and ``size * exp(delta * std)``, written out per box."""
    g = torch.Generator().manual_seed(2)
    stds = (0.1, 0.1, 0.2, 0.2)
    coder = TASK_UTILS.build(dict(CODER, clip_border=False))
    anchors, deltas = random_boxes(100, g).double(), torch.randn(100, 4, generator=g).double()
    decoded = coder.decode(anchors, deltas)
    expected = []
    for (x1, y1, x2, y2), (dx, dy, dw, dh) in zip(anchors.tolist(), deltas.tolist(), strict=True):
        w, h = x2 - x1, y2 - y1
        cx = (x1 + x2) / 2 + dx * stds[0] * w
        cy = (y1 + y2) / 2 + dy * stds[1] * h
        new_w, new_h = w * math.exp(dw * stds[2]), h * math.exp(dh * stds[3])
        expected.append([cx - new_w / 2, cy - new_h / 2, cx + new_w / 2, cy + new_h / 2])
    torch.testing.assert_close(decoded, torch.tensor(expected, dtype=torch.float64))
