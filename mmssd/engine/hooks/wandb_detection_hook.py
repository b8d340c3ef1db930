"""What mmdetection 2.x's ``MMDetWandbHook`` logged besides scalars: evaluation images
with their boxes, and checkpoints as W&B artifacts."""
from __future__ import annotations

import os.path as osp
from collections.abc import Sequence

import mmcv
import numpy as np
from mmengine.hooks import Hook

from mmssd.datasets.pipelines import read_image
from mmssd.evaluation.img_metas import first_aug_metas
from mmssd.registry import HOOKS

#: Name of the W&B backend in the runner's visualizer (mmengine names it by class).
WANDB_BACKEND = 'WandbVisBackend'


def box_data(boxes: np.ndarray, labels: np.ndarray, scores: np.ndarray | None,
             classes: Sequence[str]) -> list[dict]:
    """W&B ``box_data`` (pixel domain) of ``boxes`` (n, 4) xyxy with ``labels`` (n,) and
    optional ``scores`` (n,)."""
    out = []
    for i, (box, label) in enumerate(zip(boxes.tolist(), labels.tolist(), strict=True)):
        entry = {'position': dict(minX=box[0], minY=box[1], maxX=box[2], maxY=box[3]),
                 'domain': 'pixel', 'class_id': int(label)}
        if scores is not None:
            entry['scores'] = {'score': float(scores[i])}
            entry['box_caption'] = f'{classes[int(label)]} {scores[i]:.2f}'
        else:
            entry['box_caption'] = classes[int(label)]
        out.append(entry)
    return out


@HOOKS.register_module()
class WandbDetectionHook(Hook):
    """Log the first ``num_eval_images`` validation images with their predicted boxes
    (score >= ``bbox_score_thr``) and ground truth after each validation, and each saved
    checkpoint as a ``model`` artifact, to the run of the visualizer's W&B backend.

    Images go under the key ``val/predictions`` as ``wandb.Image`` objects with two box
    layers, ``predictions`` and ``ground_truth`` (from ``img_metas[i]['ann_info']``).

    Args:
        num_eval_images: validation images logged each time (0: none).
        bbox_score_thr: smallest score of a logged prediction.
        log_checkpoint: log each new checkpoint (``last_checkpoint`` of the work dir) as
            an artifact ``run_<id>_model`` with aliases ``epoch_N``/``iter_N`` and ``latest``.
        log_checkpoint_metadata: attach the last validation metrics to those artifacts.
    """

    priority = 'LOWEST'  # after CheckpointHook has written the checkpoint

    def __init__(self, num_eval_images: int = 100, bbox_score_thr: float = 0.3,
                 log_checkpoint: bool = False, log_checkpoint_metadata: bool = False) -> None:
        self.num_eval_images = num_eval_images
        self.bbox_score_thr = bbox_score_thr
        self.log_checkpoint = log_checkpoint
        self.log_checkpoint_metadata = log_checkpoint_metadata
        self._images: list = []
        self._last_metrics: dict = {}
        self._logged_checkpoint: str | None = None

    def _wandb(self, runner):
        """The ``wandb`` module of the visualizer's (initialised) W&B backend."""
        return runner.visualizer.get_backend(WANDB_BACKEND).experiment

    def before_val_epoch(self, runner) -> None:
        self._images = []

    def after_val_iter(self, runner, batch_idx: int, data_batch: dict | None = None,
                       outputs: Sequence | None = None) -> None:
        if data_batch is None or outputs is None or len(self._images) >= self.num_eval_images:
            return
        wandb = self._wandb(runner)
        classes = list(runner.val_dataloader.dataset.metainfo['classes'])
        class_labels = dict(enumerate(classes))
        for meta, result in zip(first_aug_metas(data_batch['img_metas']), outputs, strict=True):
            if len(self._images) >= self.num_eval_images:
                break
            dets = np.concatenate([np.asarray(r, np.float32).reshape(-1, 5) for r in result])
            labels = np.concatenate([np.full(len(r), c) for c, r in enumerate(result)])
            keep = dets[:, 4] >= self.bbox_score_thr
            layers = {'predictions': {'box_data': box_data(dets[keep, :4], labels[keep],
                                                           dets[keep, 4], classes),
                                      'class_labels': class_labels}}
            ann = meta.get('ann_info')
            if ann is not None:
                layers['ground_truth'] = {
                    'box_data': box_data(np.asarray(ann['bboxes'], np.float32).reshape(-1, 4),
                                         np.asarray(ann['labels']), None, classes),
                    'class_labels': class_labels}
            img = mmcv.bgr2rgb(read_image(meta['filename']))
            caption = osp.basename(meta['filename'])
            self._images.append(wandb.Image(img, boxes=layers, caption=caption))

    def after_val_epoch(self, runner, metrics: dict | None = None) -> None:
        self._last_metrics = dict(metrics or {})
        if self._images:
            self._wandb(runner).log({'val/predictions': self._images})
            self._images = []

    def after_train_epoch(self, runner) -> None:
        self._log_new_checkpoint(runner)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._log_new_checkpoint(runner)  # iteration-based runs save here (a small file read)

    def _log_new_checkpoint(self, runner) -> None:
        """Log the checkpoint named by ``work_dir/last_checkpoint`` if it is new."""
        if not self.log_checkpoint:
            return
        pointer = osp.join(runner.work_dir, 'last_checkpoint')
        if not osp.isfile(pointer):
            return
        with open(pointer) as f:
            path = f.read().strip()
        if path == self._logged_checkpoint or not osp.isfile(path):
            return
        wandb = self._wandb(runner)
        metadata = self._last_metrics if self.log_checkpoint_metadata else None
        artifact = wandb.Artifact(f'run_{wandb.run.id}_model', type='model', metadata=metadata)
        artifact.add_file(path)
        stem = osp.splitext(osp.basename(path))[0]
        wandb.run.log_artifact(artifact, aliases=[stem, 'latest'])
        self._logged_checkpoint = path
