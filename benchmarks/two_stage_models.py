"""The two Faster R-CNN R50-FPN models ``bench_two_stage.py`` compares, with the same
weights and settings, and their synthetic batch.

* mmssd: ``configs/faster_rcnn/faster_rcnn_r50_fpn_1x_coco.py`` with
  ``backbone.init_cfg=None`` (random weights, no download).
* torchvision: what ``fasterrcnn_resnet50_fpn`` builds when it is given a pretrained
  backbone -- ``resnet50(norm_layer=FrozenBatchNorm2d)``, ``_resnet_fpn_extractor(., 3)``
  (stem and layer1 frozen), ``FasterRCNN(., num_classes=81, **TORCHVISION_KWARGS)`` -- minus
  the download. (``fasterrcnn_resnet50_fpn(weights=None, weights_backbone=None)`` itself
  switches to trainable ``BatchNorm2d`` in training mode and all five stages trainable,
  not what anyone fine-tunes; :func:`build_torchvision` with ``plain=True`` builds that.)
  Its ``GeneralizedRCNNTransform`` is replaced by :class:`IdentityTransform`: both models
  get the same pre-resized, normalised, padded batch, and torchvision's per-image
  normalise/resize/copy (a bilinear ``interpolate`` even at scale 1) is not timed.

:func:`copy_weights` gives torchvision the mmssd model's weights (the architectures are the
same up to names and torchvision's background class coming first), so that both see the
same objectness, proposals and scores and do the same amount of work per step.
"""
from __future__ import annotations

import re
from pathlib import Path

import torch
from bench_models import init_weights_quietly
from mmengine.config import Config
from torch import Tensor, nn
from torchvision.models import resnet50
from torchvision.models.detection import FasterRCNN, fasterrcnn_resnet50_fpn
from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor
from torchvision.models.detection.image_list import ImageList
from torchvision.ops.misc import FrozenBatchNorm2d

from mmssd.registry import MODELS
from mmssd.utils import register_all_modules

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / 'configs/faster_rcnn/faster_rcnn_r50_fpn_1x_coco.py'
NUM_CLASSES = 80
#: the mmssd config's train_cfg / test_cfg in torchvision's terms (per-level top-n, as
#: mmdetection 2.x's ``nms_pre``; NMS within each level)
TORCHVISION_KWARGS = dict(
    rpn_pre_nms_top_n_train=2000, rpn_post_nms_top_n_train=1000,
    rpn_pre_nms_top_n_test=1000, rpn_post_nms_top_n_test=1000, rpn_nms_thresh=0.7,
    rpn_fg_iou_thresh=0.7, rpn_bg_iou_thresh=0.3,
    rpn_batch_size_per_image=256, rpn_positive_fraction=0.5,
    box_fg_iou_thresh=0.5, box_bg_iou_thresh=0.5,
    box_batch_size_per_image=512, box_positive_fraction=0.25,
    box_score_thresh=0.05, box_nms_thresh=0.5, box_detections_per_img=100,
    bbox_reg_weights=(10.0, 10.0, 5.0, 5.0))
Batch = tuple[Tensor, list[dict], list[Tensor], list[Tensor]]


class IdentityTransform(nn.Module):
    """Stands in for ``GeneralizedRCNNTransform``: the batch ``(B, 3, H, W)`` is already
    resized, normalised and padded; every image's size is ``(H, W)``."""

    def forward(self, images: Tensor, targets: list[dict] | None = None
                ) -> tuple[ImageList, list[dict] | None]:
        return ImageList(images, [tuple(images.shape[-2:])] * images.size(0)), targets

    def postprocess(self, result: list[dict], image_shapes: list, original_image_sizes: list
                    ) -> list[dict]:
        return result


def build_mmssd(seed: int = 0) -> nn.Module:
    """The mmssd Faster R-CNN of :data:`CONFIG` with random weights drawn with ``seed``."""
    register_all_modules()
    cfg = Config.fromfile(str(CONFIG)).model.to_dict()
    cfg['backbone']['init_cfg'] = None
    torch.manual_seed(seed)
    model = MODELS.build(cfg)
    init_weights_quietly(model)
    return model


def build_torchvision(plain: bool = False) -> nn.Module:
    """torchvision's Faster R-CNN R50-FPN with :data:`TORCHVISION_KWARGS` and
    :class:`IdentityTransform` (see the module docstring; ``plain``: literally
    ``fasterrcnn_resnet50_fpn(weights=None, weights_backbone=None)``)."""
    if plain:
        model = fasterrcnn_resnet50_fpn(weights=None, weights_backbone=None,
                                        num_classes=NUM_CLASSES + 1, **TORCHVISION_KWARGS)
    else:
        backbone = _resnet_fpn_extractor(resnet50(weights=None, norm_layer=FrozenBatchNorm2d), 3)
        model = FasterRCNN(backbone, num_classes=NUM_CLASSES + 1, **TORCHVISION_KWARGS)
    model.transform = IdentityTransform()
    return model


#: mmssd state_dict name -> torchvision's (regular expressions, tried in order)
KEY_MAP = [
    (r'backbone\.(.*)', r'backbone.body.\1'),
    (r'neck\.lateral_convs\.(\d)\.conv\.(.*)', r'backbone.fpn.inner_blocks.\1.0.\2'),
    (r'neck\.fpn_convs\.(\d)\.conv\.(.*)', r'backbone.fpn.layer_blocks.\1.0.\2'),
    (r'rpn_head\.rpn_conv\.(.*)', r'rpn.head.conv.0.0.\1'),
    (r'rpn_head\.rpn_cls\.(.*)', r'rpn.head.cls_logits.\1'),
    (r'rpn_head\.rpn_reg\.(.*)', r'rpn.head.bbox_pred.\1'),
    (r'roi_head\.bbox_head\.shared_fcs\.0\.(.*)', r'roi_heads.box_head.fc6.\1'),
    (r'roi_head\.bbox_head\.shared_fcs\.1\.(.*)', r'roi_heads.box_head.fc7.\1'),
    (r'roi_head\.bbox_head\.fc_cls\.(.*)', r'roi_heads.box_predictor.cls_score.\1'),
    (r'roi_head\.bbox_head\.fc_reg\.(.*)', r'roi_heads.box_predictor.bbox_pred.\1'),
]


def torchvision_key(key: str) -> str:
    """The torchvision name of mmssd parameter/buffer ``key`` (KeyError if none)."""
    for pattern, repl in KEY_MAP:
        if re.fullmatch(pattern, key):
            return re.sub(pattern, repl, key)
    raise KeyError(f'no torchvision name for mmssd key {key!r}')


@torch.no_grad()
def copy_weights(mm: nn.Module, tv: nn.Module) -> None:
    """Load ``mm``'s weights into ``tv`` (strict: every torchvision tensor is written).

    Classifier rows move from mmssd's order (classes, then background) to torchvision's
    (background, then classes); torchvision's 4 background regression rows, which it never
    uses, stay as they are.
    """
    state = dict(tv.state_dict())
    written = set()
    for key, value in mm.state_dict().items():
        if key.endswith('num_batches_tracked'):
            continue  # FrozenBatchNorm2d has none; BatchNorm2d keeps its own
        name = torchvision_key(key)
        if name not in state:
            raise KeyError(f'{key} -> {name}: not in the torchvision model')
        if name.startswith('roi_heads.box_predictor.cls_score'):
            value = torch.cat([value[-1:], value[:-1]])
        elif name.startswith('roi_heads.box_predictor.bbox_pred'):
            value = torch.cat([state[name][:4], value])
        if state[name].shape != value.shape:
            raise ValueError(f'{key} {tuple(value.shape)} -> {name} {tuple(state[name].shape)}')
        state[name] = value.clone()
        written.add(name)
    missing = [k for k in state if k not in written and not k.endswith('num_batches_tracked')]
    if missing:
        raise KeyError(f'torchvision tensors without an mmssd counterpart: {missing[:5]}')
    tv.load_state_dict(state, strict=True)


@torch.no_grad()
def boost_classes(mm: nn.Module, num: int = 4, logit: float = 3.0, seed: int = 0) -> list[int]:
    """Raise the classifier bias of ``num`` random classes by ``logit``, so that at test
    time every proposal scores about 0.13 (above ``score_thr`` 0.05) in each of them, as a
    trained model's candidates would, instead of ~1/81 everywhere: the post-processing
    (per-class NMS of ``num`` x 1000 boxes per image, top 100) then has work to do.
    Returns the classes (mmssd's indices)."""
    g = torch.Generator().manual_seed(seed)
    classes = torch.randperm(NUM_CLASSES, generator=g)[:num].tolist()
    mm.roi_head.bbox_head.fc_cls.bias[classes] += logit
    return classes


def synthetic_batch(batch_size: int, height: int, width: int, seed: int = 0,
                    max_boxes: int = 8) -> Batch:
    """Normalised images ``(B, 3, H, W)``, metas (no resize: scale 1) and per image 2 to
    ``max_boxes`` ground-truth boxes ``(G, 4)`` (xyxy pixels, sides 16 px to half the
    image) with labels ``(G,)`` in ``[0, 80)``."""
    g = torch.Generator().manual_seed(seed)
    img = torch.randn(batch_size, 3, height, width, generator=g)
    size = torch.tensor([width, height], dtype=torch.float32)
    metas, boxes, labels = [], [], []
    for _ in range(batch_size):
        n = int(torch.randint(2, max_boxes + 1, (1,), generator=g))
        wh = 16 + torch.rand(n, 2, generator=g) * (size / 2 - 16)
        xy = torch.rand(n, 2, generator=g) * (size - wh)
        boxes.append(torch.cat([xy, xy + wh], dim=1))
        labels.append(torch.randint(0, NUM_CLASSES, (n,), generator=g))
        shape = (height, width, 3)
        metas.append({'img_shape': shape, 'ori_shape': shape, 'pad_shape': shape,
                      'scale_factor': 1.0, 'flip': False})
    return img, metas, boxes, labels


def torchvision_targets(gt_bboxes: list[Tensor], gt_labels: list[Tensor]) -> list[dict]:
    """torchvision's targets: labels shifted by one (its class 0 is the background)."""
    return [{'boxes': b, 'labels': lab + 1} for b, lab in zip(gt_bboxes, gt_labels, strict=True)]
