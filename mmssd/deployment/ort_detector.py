"""An exported ONNX file run by onnxruntime, with the detector's test interface.

:class:`ONNXRuntimeDetector` takes what the test pipeline makes (``img (B, 3, H, W)``
and B meta dicts) and returns, per image, a list over classes of float32 ``(n, 5)``
arrays ``[x1, y1, x2, y2, score]`` in original image pixels, as ``model.simple_test``
does, so evaluation, drawing and the demos run on it unchanged;
:class:`ONNXRuntimeModel` is the same as an mmengine model, for the test runner.
"""
from __future__ import annotations

import os.path as osp
from collections.abc import Sequence

import numpy as np
import torch
from mmengine.model import BaseModel
from torch import Tensor

from mmssd.models.utils import bbox2result, scale_factors_tensor

from .export import read_metadata


class ONNXRuntimeDetector:
    """An ONNX file written by ``tools/deployment/pytorch2onnx.py``, on onnxruntime's CPU
    provider.

    Args:
        onnx_file: the ``.onnx`` file (its metadata holds ``classes``).
        num_threads: onnxruntime's intra-op threads (0: its default).

    Attributes:
        CLASSES: class names from the file's metadata.
        is_rpn: the file holds an RPN (results are proposals, one ``(n, 5)`` per image).
        input_shape: ``[H, W]`` of a static graph, None for a dynamic one.
        max_per_img: rows of the padded outputs.
    """

    def __init__(self, onnx_file: str, num_threads: int = 0) -> None:
        import onnxruntime as ort

        if not osp.isfile(onnx_file):
            raise FileNotFoundError(f'ONNX file {onnx_file} does not exist')
        options = ort.SessionOptions()
        if num_threads:
            options.intra_op_num_threads = num_threads
        self.session = ort.InferenceSession(onnx_file, options,
                                            providers=['CPUExecutionProvider'])
        meta = read_metadata(self.session)
        self.CLASSES = tuple(meta.get('classes') or ())
        self.is_rpn = bool(meta.get('is_rpn', False))
        self.input_shape = None if meta.get('dynamic', True) else meta.get('input_shape')
        self.max_per_img = int(meta.get('max_per_img', self.session.get_outputs()[0].shape[1]))
        self.onnx_file = onnx_file
        self.input_names = [i.name for i in self.session.get_inputs()]

    def run(self, img: Tensor | np.ndarray, img_shape: np.ndarray) -> tuple[np.ndarray, ...]:
        """Raw outputs ``dets (B, M, 5)``, ``labels (B, M)`` of ``img (B, 3, H, W)`` and
        ``img_shape (B, 2)`` ``[h, w]``."""
        img = img.detach().cpu().numpy() if isinstance(img, Tensor) else img
        if self.input_shape is not None and list(img.shape[2:]) != list(self.input_shape):
            raise ValueError(f'{self.onnx_file} was exported for {self.input_shape[0]}x'
                             f'{self.input_shape[1]} inputs (static), got {img.shape[2]}x'
                             f'{img.shape[3]}; export with --dynamic-export for other sizes')
        feeds = {'img': np.ascontiguousarray(img, np.float32),
                 'img_shape': img_shape.astype(np.float32)}
        # a graph that never reads img_shape (YOLOX clips no box) has no such input
        return tuple(self.session.run(None, {name: feeds[name] for name in self.input_names}))

    def simple_test(self, img: Tensor, img_metas: Sequence[dict],
                    rescale: bool = True) -> list:
        """Per image, per class float32 ``(n, 5)`` detections (an RPN: one ``(n, 5)``
        array of proposals), in original image pixels with ``rescale``."""
        shapes = np.array([[float(s) for s in m['img_shape'][:2]] for m in img_metas])
        dets, labels = self.run(img, shapes)
        dets_t, labels_t = torch.from_numpy(dets), torch.from_numpy(labels)
        if rescale:
            factors = scale_factors_tensor(img_metas, dets_t)  # (B, 1, 4)
            dets_t = torch.cat([dets_t[..., :4] / factors, dets_t[..., 4:]], dim=-1)
        results = []
        for image_dets, image_labels in zip(dets_t, labels_t, strict=True):
            valid = image_dets[:, 4] > 0
            if self.is_rpn:
                results.append(image_dets[valid].numpy())
            else:
                results.append(bbox2result(image_dets[valid], image_labels[valid],
                                           len(self.CLASSES)))
        return results

    def __call__(self, img: Tensor, img_metas: Sequence[dict], mode: str = 'predict',
                 **kwargs) -> list:
        """``mode='predict'`` as a detector's (one augmentation): :meth:`simple_test`."""
        if mode != 'predict' or not isinstance(img, Tensor):
            raise ValueError('an ONNX model runs mode="predict" on one (B, 3, H, W) batch '
                             '(no test-time augmentation, no training)')
        return self.simple_test(img, img_metas)


class ONNXRuntimeModel(BaseModel):
    """An :class:`ONNXRuntimeDetector` as an mmengine model, so that the test runner
    (``Runner.test``: dataloader, evaluators, ``ShowResultsHook``) runs it exactly as it
    runs a PyTorch detector (``tools/deployment/test.py``).

    Args:
        onnx_file: the exported file.
        num_threads: onnxruntime's intra-op threads (0: its default).
    """

    def __init__(self, onnx_file: str, num_threads: int = 0) -> None:
        super().__init__()
        self.runtime = ONNXRuntimeDetector(onnx_file, num_threads)
        self.CLASSES = self.runtime.CLASSES

    def forward(self, img: Tensor | list, img_metas: Sequence, mode: str = 'predict',
                **kwargs) -> list:
        """``mode='predict'`` of one augmentation: :meth:`ONNXRuntimeDetector.simple_test`."""
        if mode != 'predict':
            raise ValueError(f"an ONNX model only predicts (mode='predict'), got {mode!r}")
        if not isinstance(img, Tensor):
            raise ValueError('an ONNX model runs one augmentation per image; the test '
                             'pipeline makes several (MultiScaleFlipAug with several scales '
                             'or flip=True): set it to one')
        return self.runtime.simple_test(img, list(img_metas))
