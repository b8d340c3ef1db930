"""The parts of Faster R-CNN that are not convolutions or fully connected layers, mmssd
against torchvision on the same inputs (``bench_two_stage.py --parts``).

From one batch's FPN features and RPN head outputs (computed once by the mmssd model;
torchvision has the same weights), each part runs in both libraries, interleaved:

- RPN after the head, test: mmssd ``RPNHead.get_proposals`` (``test_cfg.rpn``) vs
  torchvision's ``RegionProposalNetwork`` in eval mode with its head's outputs given
  (anchors, decode, per-level top-n, clip, NMS);
- RPN after the head, training, forward + backward: mmssd ``RPNHead.loss`` + proposals
  (``rpn_proposal``) vs the same torchvision module in training mode (targets, sampling,
  losses, proposals);
- RoI assign + sample: ``assign_and_sample`` vs ``RoIHeads.select_training_samples`` on the
  same training proposals;
- RoIAlign, training RoIs, forward + backward: ``SingleRoIExtractor`` (``sampling_ratio=0``,
  aligned) vs ``MultiScaleRoIAlign`` (``sampling_ratio=2``) on the same sampled RoIs;
- RoIAlign, test proposals, and again with mmssd's layers at ``sampling_ratio=2``;
- RoI post-processing, test: ``BBoxHead.get_bboxes_batched`` + ``bbox2result`` vs
  ``RoIHeads.postprocess_detections`` on the same class scores and deltas.
"""
from __future__ import annotations

import copy
import statistics
import time
from collections.abc import Callable

import torch
import two_stage_models as tsm
from torch import Tensor, nn
from torchvision.models.detection.image_list import ImageList

from mmssd.models.roi_heads.base_roi_head import assign_and_sample, sampled_rois
from mmssd.models.utils import bbox2roi
from mmssd.models.utils.bbox2result import bbox2result


class GivenOutputs(nn.Module):
    """Stands in for torchvision's ``RPNHead``: returns ``outputs`` whatever the input."""

    def __init__(self) -> None:
        super().__init__()
        self.outputs: tuple[list[Tensor], list[Tensor]] = ([], [])

    def forward(self, features: list[Tensor]) -> tuple[list[Tensor], list[Tensor]]:
        return self.outputs


def make_parts(mm: nn.Module, tv: nn.Module, batch: tsm.Batch
               ) -> list[tuple[str, Callable[[], object], Callable[[], object]]]:
    """``(name, mmssd callable, torchvision callable)`` for each part (see the module doc)."""
    img, metas, gt_bboxes, gt_labels = batch
    targets = tsm.torchvision_targets(gt_bboxes, gt_labels)
    images = ImageList(img, [tuple(img.shape[-2:])] * img.size(0))
    with torch.no_grad():
        feats = mm.extract_feat(img)
        rpn_cls, rpn_reg = mm.rpn_head(feats)
    tv_feats = dict(zip(['0', '1', '2', '3', 'pool'], feats, strict=True))
    head, roi = mm.rpn_head, mm.roi_head
    rpn_eval, rpn_train = copy.deepcopy(tv.rpn).eval(), copy.deepcopy(tv.rpn).train()
    rpn_eval.head, rpn_train.head = GivenOutputs(), GivenOutputs()
    rpn_eval.head.outputs = (rpn_cls, rpn_reg)

    def leaves() -> tuple[list[Tensor], list[Tensor]]:
        return ([t.clone().requires_grad_() for t in rpn_cls],
                [t.clone().requires_grad_() for t in rpn_reg])

    def mm_rpn_test() -> list[Tensor]:
        with torch.no_grad():
            return head.get_proposals(rpn_cls, rpn_reg, metas)

    def tv_rpn_test() -> list[Tensor]:
        with torch.no_grad():
            return rpn_eval(images, tv_feats)[0]

    def mm_rpn_train() -> list[Tensor]:  # RPNHead.forward_train after self(x)
        cls, reg = leaves()
        losses = head.loss(cls, reg, gt_bboxes, None, metas)
        sum(losses.values()).backward()
        with torch.no_grad():
            return head.get_proposals([c.detach() for c in cls], [r.detach() for r in reg],
                                      metas, cfg=head.train_proposal_cfg)

    def tv_rpn_train() -> list[Tensor]:
        rpn_train.head.outputs = leaves()
        proposals, losses = rpn_train(images, tv_feats, targets)
        sum(losses.values()).backward()
        return proposals

    torch.manual_seed(0)
    train_proposals = mm_rpn_train()
    test_proposals = mm_rpn_test()

    def mm_sample() -> list:
        return assign_and_sample(roi.bbox_assigner, roi.bbox_sampler, train_proposals,
                                 gt_bboxes, gt_labels, None)

    def tv_sample() -> tuple:
        return tv.roi_heads.select_training_samples([p[:, :4] for p in train_proposals],
                                                    targets)

    train_rois = sampled_rois(mm_sample())  # (K, 5), the same RoIs for both libraries
    per_image = [train_rois[train_rois[:, 0] == i, 1:] for i in range(img.size(0))]
    test_rois = bbox2roi(test_proposals)
    test_boxes = [p[:, :4] for p in test_proposals]
    grad_feats = [f.clone().requires_grad_() for f in feats[:4]]
    tv_grad_feats = dict(zip(['0', '1', '2', '3'], grad_feats, strict=True))
    extractor_sr2 = copy.deepcopy(roi.bbox_roi_extractor)
    for layer in extractor_sr2.roi_layers:
        layer.sampling_ratio = 2

    def mm_align_train() -> None:
        roi.bbox_roi_extractor(grad_feats, train_rois).sum().backward()

    def tv_align_train() -> None:
        tv.roi_heads.box_roi_pool(tv_grad_feats, per_image, images.image_sizes).sum().backward()

    def align_test(extractor: nn.Module) -> Callable[[], Tensor]:
        def run() -> Tensor:
            with torch.no_grad():
                return extractor(list(feats[:4]), test_rois)
        return run

    def tv_align_test() -> Tensor:
        with torch.no_grad():
            return tv.roi_heads.box_roi_pool(tv_feats, test_boxes, images.image_sizes)

    with torch.no_grad():
        cls_score, bbox_pred = roi.bbox_head(align_test(roi.bbox_roi_extractor)())
    tv_cls = torch.cat([cls_score[:, -1:], cls_score[:, :-1]], dim=1)  # background first
    tv_reg = torch.cat([bbox_pred.new_zeros(len(bbox_pred), 4), bbox_pred], dim=1)

    def mm_post() -> list:
        with torch.no_grad():
            dets = roi.bbox_head.get_bboxes_batched(test_rois, cls_score, bbox_pred, metas,
                                                    rescale=True, cfg=roi.test_cfg)
            return [bbox2result(b, lab, roi.bbox_head.num_classes) for b, lab in dets]

    def tv_post() -> tuple:
        with torch.no_grad():
            return tv.roi_heads.postprocess_detections(tv_cls, tv_reg, test_boxes,
                                                       images.image_sizes)

    return [('RPN after the head, test', mm_rpn_test, tv_rpn_test),
            ('RPN after the head, train fwd+bwd', mm_rpn_train, tv_rpn_train),
            ('RoI assign + sample', mm_sample, tv_sample),
            (f'RoIAlign fwd+bwd, {len(train_rois)} train RoIs', mm_align_train, tv_align_train),
            (f'RoIAlign, {len(test_rois)} test proposals', align_test(roi.bbox_roi_extractor),
             tv_align_test),
            ('  same, mmssd at sampling_ratio=2', align_test(extractor_sr2), tv_align_test),
            ('RoI post-processing, test', mm_post, tv_post)]


def run_parts(mm: nn.Module, tv: nn.Module, batch: tsm.Batch, repeats: int) -> None:
    """Time every part of :func:`make_parts` (1 warm-up + ``repeats``, the two libraries
    alternating first) and print medians, ranges and the ratio mmssd / torchvision."""
    parts = make_parts(mm, tv, batch)
    times: dict[tuple[str, str], list[float]] = {}
    for r in range(repeats + 1):
        for name, mm_fn, tv_fn in parts:
            pairs = [('mmssd', mm_fn), ('torchvision', tv_fn)]
            for lib, fn in pairs if r % 2 == 0 else pairs[::-1]:
                start = time.perf_counter()
                fn()
                if r:
                    times[(name, lib)] = times.get((name, lib), []) + [
                        time.perf_counter() - start]
    print(f'\n-- parts (no convolution / FC layers): ms, median [min..max] of {repeats}')
    print(f'{"part":<40}{"mmssd":>24}{"torchvision":>24}{"ratio":>8}')
    for name, _, _ in parts:
        a, b = times[(name, 'mmssd')], times[(name, 'torchvision')]
        cells = [f'{statistics.median(t) * 1e3:.1f} [{min(t) * 1e3:.1f}..{max(t) * 1e3:.1f}]'
                 for t in (a, b)]
        print(f'{name:<40}{cells[0]:>24}{cells[1]:>24}'
              f'{statistics.median(a) / statistics.median(b):>8.2f}')
