"""YOLOXHead: losses (with the L1 switch) and the dense heads' decoding contract."""
from __future__ import annotations

import numpy as np
import torch

from mmssd.registry import MODELS

CFG = dict(type='YOLOXHead', num_classes=3, in_channels=8, feat_channels=8,
           train_cfg=dict(assigner=dict(type='SimOTAAssigner', center_radius=2.5)),
           test_cfg=dict(score_thr=0.01, nms=dict(type='nms', iou_threshold=0.65)))


def _feats(batch: int = 2) -> list[torch.Tensor]:
    torch.manual_seed(0)
    return [torch.rand(batch, 8, 64 // s, 64 // s) for s in (8, 16, 32)]


def test_losses_train_and_l1_switch():
    head = MODELS.build(CFG)
    feats = _feats()
    gts = [torch.tensor([[4.0, 6.0, 30.0, 40.0], [40.0, 10.0, 60.0, 30.0]]), torch.zeros(0, 4)]
    labels = [torch.tensor([0, 2]), torch.zeros(0, dtype=torch.long)]
    metas = [dict(img_shape=(64, 64, 3), scale_factor=np.ones(4, np.float32))] * 2
    losses = head.loss(*head(feats), gts, labels, metas)
    assert set(losses) == {'loss_cls', 'loss_bbox', 'loss_obj'}
    head.use_l1 = True
    optimizer = torch.optim.Adam(head.parameters(), lr=0.01)
    totals = []
    for _ in range(20):
        losses = head.loss(*head(feats), gts, labels, metas)
        total = sum(losses.values())
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        totals.append(float(total.detach()))
    assert 'loss_l1' in losses and totals[-1] < 0.7 * totals[0]


def test_decoding_is_traceable_and_follows_the_contract():
    head = MODELS.build(CFG).eval()
    outs = head(_feats())
    metas = [dict(img_shape=(64, 64, 3), scale_factor=np.full(4, 2.0, np.float32), flip=False,
                  flip_direction=None)] * 2
    bboxes, scores, level_ids = head.mlvl_topk_decode(*outs, metas)
    assert bboxes.shape == (2, 84, 4) and scores.shape == (2, 84, 4)
    assert ((scores[..., :3] > 0).sum(-1) == 1).all() and (scores[..., 3] == 0).all()
    assert level_ids.tolist() == [0] * 64 + [1] * 16 + [2] * 4
    # one label per point: the best class x objectness; boxes from the top-left point
    cls = outs[0][0][0, :, 0, 0].sigmoid()
    obj = outs[2][0][0, 0, 0, 0].sigmoid()
    torch.testing.assert_close(scores[0, 0, :3].max(), cls.max() * obj)
    reg = outs[1][0][0, :, 0, 0]
    wh = reg[2:].exp() * 8
    torch.testing.assert_close(bboxes[0, 0], torch.cat([reg[:2] * 8 - wh / 2,
                                                        reg[:2] * 8 + wh / 2]))

    def decode(c0, c1, c2, b0, b1, b2, o0, o1, o2):
        return head.mlvl_topk_decode([c0, c1, c2], [b0, b1, b2], [o0, o1, o2], metas)[:2]

    traced = torch.jit.trace(decode, tuple(t for level in outs for t in level))
    torch.testing.assert_close(traced(*[t for level in outs for t in level])[1], scores)
    dets = head.get_bboxes(*outs, img_metas=metas, rescale=True)
    assert len(dets) == 2 and dets[0][0].shape[1] == 5
    # test-time augmentation of twice the same view gives the single view's boxes
    aug = head.get_bboxes_aug([outs, outs], [metas, metas])
    assert torch.isin(aug[0][0][:, 4], dets[0][0][:, 4]).all()
