"""Loading transforms: ``LoadImageFromFile`` and ``LoadAnnotations``."""
from __future__ import annotations

import os.path as osp

import numpy as np
from mmengine import fileio

from mmssd.registry import TRANSFORMS

from .image_decoding import TRANSPOSING_ORIENTATIONS, decode_image, exif_orientation


def _backend_args(file_client_args: dict | None) -> dict | None:
    """mmcv 1.x ``file_client_args`` -> mmengine ``backend_args`` (``disk`` is ``local``)."""
    if not file_client_args:
        return None
    args = dict(file_client_args)
    if args.get('backend', 'disk') == 'disk':
        return None
    return args


@TRANSFORMS.register_module()
class LoadImageFromFile:
    """Load an image from ``img_prefix`` / ``img_info['filename']``.

    Adds ``filename``, ``ori_filename``, ``img`` (H, W, 3) uint8 BGR (float32 with
    ``to_float32``), ``img_shape``, ``ori_shape`` and ``img_fields``.

    Errors name the file: ``FileNotFoundError`` for a missing one,
    :class:`ImageDecodeError` (an ``OSError``) for a truncated JPEG (checked by its
    end-of-image marker, since some cv2 versions decode the missing part as grey) or
    bytes that do not decode. ``color_type='color'`` turns grey, RGBA and 16-bit files
    into (H, W, 3) uint8; ``'unchanged'`` keeps their channels and dtype.

    EXIF orientation: the model sees the pixels as stored (the frame annotation tools
    usually draw boxes in), unlike mmcv's ``color`` flag; ``apply_exif_orientation=True``
    turns them as the tag says, for boxes drawn on the turned view. A file whose tag
    turns it by 90 degrees and whose annotated ``width``/``height`` match the other
    frame raises a ``ValueError`` naming the file and the setting to change.

    Args:
        to_float32: convert the image to float32.
        color_type: ``'color'``, ``'grayscale'`` or ``'unchanged'`` (mmcv flags).
        channel_order: ``'bgr'`` or ``'rgb'``.
        file_client_args: mmcv 1.x file client arguments, e.g. ``dict(backend='disk')``.
        apply_exif_orientation: turn the pixels by the EXIF ``Orientation`` tag.
    """

    def __init__(self, to_float32: bool = False, color_type: str = 'color',
                 channel_order: str = 'bgr', file_client_args: dict | None = None,
                 apply_exif_orientation: bool = False):
        self.to_float32 = to_float32
        self.color_type = color_type
        self.channel_order = channel_order
        self.file_client_args = dict(file_client_args or {'backend': 'disk'})
        self.apply_exif_orientation = apply_exif_orientation

    def __call__(self, results: dict) -> dict:
        img_info = results['img_info']
        prefix = results.get('img_prefix')
        filename = osp.join(prefix, img_info['filename']) if prefix else img_info['filename']
        backend_args = _backend_args(self.file_client_args)
        if backend_args is None and not osp.isfile(filename):
            raise FileNotFoundError(f'image file not found: {filename} '
                                    f"(img_prefix={prefix!r}, filename={img_info['filename']!r})")
        try:
            img_bytes = fileio.get(filename, backend_args=backend_args)
        except FileNotFoundError as e:
            raise FileNotFoundError(f'image file not found: {filename}') from e
        img = decode_image(img_bytes, filename, self.color_type, self.channel_order,
                           self.apply_exif_orientation)
        self._check_orientation(img_bytes, img, img_info, filename)
        if self.to_float32:
            img = img.astype(np.float32)
        results['filename'] = filename
        results['ori_filename'] = img_info['filename']
        results['img'] = img
        results['img_shape'] = img.shape
        results['ori_shape'] = img.shape
        results['img_fields'] = ['img']
        return results

    def _check_orientation(self, data: bytes, img: np.ndarray, img_info: dict,
                           filename: str) -> None:
        """Refuse a 90-degree EXIF file annotated in the other frame than the decoded one.

        Raises:
            ValueError: the annotation's ``(width, height)`` is the decoded image's
                ``(height, width)`` (and not square), and the EXIF tag turns by 90 degrees.
        """
        annotated = (img_info.get('width'), img_info.get('height'))
        decoded = (img.shape[1], img.shape[0])
        if annotated == decoded or annotated != decoded[::-1]:
            return
        orientation = exif_orientation(data)
        if orientation not in TRANSPOSING_ORIENTATIONS:
            return
        frames = ('the stored pixels', 'the view turned by its EXIF orientation')
        used, other = frames[::-1] if self.apply_exif_orientation else frames
        raise ValueError(
            f'image {filename}: its annotation gives width x height {annotated[0]} x '
            f'{annotated[1]}, but the model would see {used} ({decoded[0]} x {decoded[1]}; '
            f'EXIF orientation {orientation}); the boxes were drawn on {other}. Set '
            f'LoadImageFromFile(apply_exif_orientation={not self.apply_exif_orientation}) '
            'in the pipelines (see docs/tutorials/customize_datasets.md)')

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(to_float32={self.to_float32}, '
                f"color_type='{self.color_type}', file_client_args={self.file_client_args}, "
                f'apply_exif_orientation={self.apply_exif_orientation})')


@TRANSFORMS.register_module()
class LoadAnnotations:
    """Copy boxes and labels from ``ann_info`` into the results.

    Adds ``gt_bboxes`` (N, 4) float32 xyxy, ``gt_bboxes_ignore`` (M, 4) when present,
    ``gt_labels`` (N,) int64, and registers the box keys in ``bbox_fields``.

    Args:
        with_bbox: load ``gt_bboxes`` (and ``gt_bboxes_ignore``).
        with_label: load ``gt_labels``.
    """

    def __init__(self, with_bbox: bool = True, with_label: bool = True,
                 with_mask: bool = False, with_seg: bool = False, **kwargs):
        if with_mask or with_seg:
            raise NotImplementedError('LoadAnnotations: with_mask/with_seg are not supported '
                                      'by mmssd (box detection only)')
        self.with_bbox = with_bbox
        self.with_label = with_label

    def _load_bboxes(self, results: dict) -> None:
        ann_info = results['ann_info']
        results['gt_bboxes'] = np.asarray(ann_info['bboxes'], np.float32).reshape(-1, 4).copy()
        results.setdefault('bbox_fields', []).append('gt_bboxes')
        ignore = ann_info.get('bboxes_ignore')
        if ignore is not None:
            results['gt_bboxes_ignore'] = np.asarray(ignore, np.float32).reshape(-1, 4).copy()
            results['bbox_fields'].append('gt_bboxes_ignore')

    def __call__(self, results: dict) -> dict:
        if self.with_bbox:
            self._load_bboxes(results)
        if self.with_label:
            results['gt_labels'] = np.asarray(results['ann_info']['labels'], np.int64).copy()
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(with_bbox={self.with_bbox}, '
                f'with_label={self.with_label})')
