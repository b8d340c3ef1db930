"""``Albu``: an albumentations pipeline as one transform, with mmdetection 2.x's arguments."""
from __future__ import annotations

import copy
import difflib
import importlib.util
from collections.abc import Sequence
from typing import Any

import numpy as np

from mmssd.registry import TRANSFORMS

from .common import BBOX2LABEL, check_single_img_field

#: Albumentations' name of each results key when no ``keymap`` is given (2.x's default).
DEFAULT_KEYMAP = {'img': 'image', 'gt_masks': 'masks', 'gt_bboxes': 'bboxes'}
#: Albumentations label field carrying each box's position in the input (internal).
_INDEX_FIELD = 'mmssd_box_index'
#: Boxes with a side below this (pixels) are dropped: albumentations normalises boxes to
#: [0, 1], so a box cut off at a crop edge can come back 1e-7 px wide instead of dropped.
MIN_SIDE_PX = 1e-3


def _albumentations() -> Any:
    if importlib.util.find_spec('albumentations') is None:
        raise ImportError('Albu needs the albumentations package: pip install albumentations')
    import albumentations
    return albumentations


def build_albu(cfg: dict | Any, albumentations: Any) -> Any:
    """An albumentations transform from a config dict ``{'type': 'HorizontalFlip', ...}``
    (``transforms`` of ``OneOf``/``SomeOf``/``Sequential`` built recursively), or the
    transform itself."""
    if not isinstance(cfg, dict):
        return cfg
    if 'type' not in cfg:
        raise ValueError(f"Albu: a transform config needs 'type'; got {cfg}")
    args = copy.deepcopy(cfg)
    name = args.pop('type')
    if isinstance(name, str):
        cls = getattr(albumentations, name, None)
        if not isinstance(cls, type):
            known = [n for n in dir(albumentations) if n[:1].isupper()]
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ''
            raise ValueError(f"Albu: albumentations has no transform '{name}'{hint}")
    else:
        cls = name
    if 'transforms' in args:
        args['transforms'] = [build_albu(t, albumentations) for t in args['transforms']]
    return cls(**args)


def _has_geometric(transform: Any, albumentations: Any) -> bool:
    """Whether ``transform`` or one inside it moves pixels (a ``DualTransform``)."""
    if isinstance(transform, albumentations.DualTransform):
        return True
    return any(_has_geometric(t, albumentations) for t in getattr(transform, 'transforms', []))


@TRANSFORMS.register_module()
class Albu:
    """Run an `albumentations <https://albumentations.ai>`_ pipeline on the image and boxes.

    The arguments are mmdetection 2.x's ``Albu``'s::

        dict(type='Albu',
             transforms=[dict(type='ShiftScaleRotate', shift_limit=0.0625, p=0.5),
                         dict(type='RandomBrightnessContrast', p=0.2)],
             bbox_params=dict(type='BboxParams', format='pascal_voc',
                              label_fields=['gt_labels'], min_visibility=0.0,
                              filter_lost_elements=True),
             keymap=dict(img='image', gt_bboxes='bboxes'),
             skip_img_without_anno=True, update_pad_shape=False)

    Boxes: every box field of ``results['bbox_fields']`` (``gt_bboxes`` (N, 4) and
    ``gt_bboxes_ignore`` (M, 4), float32 xyxy pixels) goes through albumentations in one
    ``pascal_voc`` list, clipped to the image first (albumentations refuses boxes outside
    it). A box that albumentations drops (zero area, outside a crop, below
    ``min_visibility`` or ``min_area``) is dropped with its label: ``gt_labels`` /
    ``gt_labels_ignore`` and every other ``label_fields`` entry keep the rows of the
    boxes that are left (2.x needed ``filter_lost_elements`` for that; here it is always
    so, and the key is accepted).

    Args:
        transforms: albumentations transform configs (``type`` = class name).
        bbox_params: ``BboxParams`` arguments; ``format`` must be ``'pascal_voc'`` (the
            boxes are xyxy pixels); ``label_fields`` name the label arrays filtered with
            the boxes (results keys, or names that ``keymap`` gives them).
        keymap: results key -> albumentations key; default ``img -> image``,
            ``gt_bboxes -> bboxes``, ``gt_masks -> masks``.
        update_pad_shape: set ``pad_shape`` to the new image shape (``img_shape`` always
            follows the image).
        skip_img_without_anno: return ``None`` (the dataset draws another image) when no
            ground-truth box is left.
        bgr_to_rgb: the image is BGR (OpenCV's order, as ``LoadImageFromFile`` reads it)
            and albumentations' colour transforms expect RGB, so it is converted around the
            call; ``False`` passes it as it is (mmdetection 2.x did so).

    Random draws (numpy global RNG): one ``randint(2**31 - 1)`` that seeds the
    albumentations pipeline, so ``--seed`` and the per-epoch reseeding hold for it too.
    """

    def __init__(self, transforms: Sequence[dict], bbox_params: dict | None = None,
                 keymap: dict[str, str] | None = None, update_pad_shape: bool = False,
                 skip_img_without_anno: bool = False, bgr_to_rgb: bool = True):
        albumentations = _albumentations()
        if not isinstance(transforms, (list, tuple)):
            raise TypeError(f'Albu: transforms must be a list of configs; got {transforms!r}')
        self.transforms = list(transforms)
        self.keymap = dict(keymap or DEFAULT_KEYMAP)
        self.keymap_back = {v: k for k, v in self.keymap.items()}
        if 'image' not in self.keymap_back:
            raise ValueError(f"Albu: keymap must map the image key to 'image'; got {keymap}")
        self.update_pad_shape = update_pad_shape
        self.skip_img_without_anno = skip_img_without_anno
        self.bgr_to_rgb = bgr_to_rgb
        self.label_fields: list[str] = []
        albu_bbox_params = None
        if bbox_params is not None:
            params = copy.deepcopy(dict(bbox_params))
            params.pop('type', None)
            params.pop('filter_lost_elements', None)  # always: labels follow their boxes
            if params.get('format', 'pascal_voc') != 'pascal_voc':
                raise ValueError("Albu: bbox_params.format must be 'pascal_voc' (mmssd's "
                                 f"boxes are xyxy pixels); got {params['format']!r}")
            params['format'] = 'pascal_voc'
            self.label_fields = [self.keymap_back.get(f, f)
                                 for f in params.pop('label_fields', None) or []]
            params['label_fields'] = [_INDEX_FIELD]
            # a zero-area box (or one wholly outside, clipped to zero area) is dropped with
            # its label instead of stopping albumentations
            params.setdefault('filter_invalid_bboxes', True)
            albu_bbox_params = albumentations.BboxParams(**params)
        self.has_bbox_params = albu_bbox_params is not None
        self.aug = albumentations.Compose(
            [build_albu(t, albumentations) for t in self.transforms],
            bbox_params=albu_bbox_params)
        self.geometric = _has_geometric(self.aug, albumentations)

    # ------------------------------------------------------------------ boxes
    def _box_fields(self, results: dict) -> list[str]:
        """The box fields to transform, the keymapped one (``gt_bboxes``) first."""
        boxes_key = self.keymap_back.get('bboxes', 'gt_bboxes')
        fields = [f for f in results.get('bbox_fields', [boxes_key]) if f in results]
        if not self.has_bbox_params:
            if self.geometric and any(len(results[f]) for f in fields):
                raise ValueError('Albu: the transforms move pixels but bbox_params is not '
                                 "set, so the boxes would not follow; add bbox_params=dict("
                                 "type='BboxParams', format='pascal_voc', "
                                 "label_fields=['gt_labels'])")
            return []
        return sorted(fields, key=lambda f: f != boxes_key)

    def _gather_boxes(self, results: dict, fields: list[str], shape: tuple[int, int]
                      ) -> tuple[np.ndarray, np.ndarray, list[int]]:
        """All boxes of ``fields`` clipped to the image (n, 4), their running index (n,),
        and each field's box count."""
        arrays = [np.asarray(results[f], np.float32).reshape(-1, 4) for f in fields]
        boxes = np.concatenate(arrays) if arrays else np.zeros((0, 4), np.float32)
        h, w = shape
        boxes = boxes.copy()
        boxes[:, 0::2] = boxes[:, 0::2].clip(0, w)
        boxes[:, 1::2] = boxes[:, 1::2].clip(0, h)
        return boxes, np.arange(len(boxes)), [len(a) for a in arrays]

    def _scatter_boxes(self, results: dict, fields: list[str], counts: list[int],
                       boxes: np.ndarray, kept: np.ndarray) -> None:
        """Write the kept boxes back to their fields and keep the labels' matching rows."""
        starts = np.cumsum([0, *counts])
        for i, field in enumerate(fields):
            mine = (kept >= starts[i]) & (kept < starts[i + 1])
            results[field] = boxes[mine].astype(np.float32).reshape(-1, 4)
            rows = kept[mine] - starts[i]
            label_keys = {BBOX2LABEL.get(field)}
            if i == 0:
                label_keys.update(self.label_fields)
            for key in label_keys:
                if key is not None and key in results:
                    labels = np.asarray(results[key])
                    if len(labels) != counts[i]:
                        raise ValueError(f'Albu: {key} has {len(labels)} entries but {field} '
                                         f'has {counts[i]} boxes')
                    results[key] = labels[rows]

    # ------------------------------------------------------------------ call
    def __call__(self, results: dict) -> dict | None:
        check_single_img_field(results, 'Albu')
        img = results['img']
        if self.bgr_to_rgb and img.ndim == 3 and img.shape[2] == 3:
            img = np.ascontiguousarray(img[..., ::-1])
        inputs: dict[str, Any] = {'image': img}
        for key, albu_key in self.keymap.items():
            if key in results and albu_key not in ('image', 'bboxes'):
                inputs[albu_key] = results[key]
        fields = self._box_fields(results)
        if fields:
            boxes, index, counts = self._gather_boxes(results, fields, img.shape[:2])
            inputs['bboxes'] = boxes
            inputs[_INDEX_FIELD] = index
        self.aug.set_random_seed(int(np.random.randint(2**31 - 1)))
        out = self.aug(**inputs)
        img = out.pop('image')
        if self.bgr_to_rgb and img.ndim == 3 and img.shape[2] == 3:
            img = np.ascontiguousarray(img[..., ::-1])
        results['img'] = img
        if fields:
            kept = np.asarray(out.pop(_INDEX_FIELD), dtype=np.int64).reshape(-1)
            new_boxes = np.asarray(out.pop('bboxes'), dtype=np.float64).reshape(-1, 4)
            sides = new_boxes[:, 2:] - new_boxes[:, :2]
            valid = (sides > MIN_SIDE_PX).all(axis=1)
            kept, new_boxes = kept[valid], new_boxes[valid]
            self._scatter_boxes(results, fields, counts, new_boxes, kept)
        for albu_key, value in out.items():
            if albu_key in self.keymap_back:
                results[self.keymap_back[albu_key]] = value
        results['img_shape'] = img.shape
        if self.update_pad_shape:
            results['pad_shape'] = img.shape
        boxes_key = self.keymap_back.get('bboxes', 'gt_bboxes')
        if self.skip_img_without_anno and len(results.get(boxes_key, [])) == 0:
            return None
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(transforms={self.transforms})'
