"""mmcv 1.x ``MlflowLoggerHook(log_model=True)``: the trained model as an MLflow artifact."""
from __future__ import annotations

import os.path as osp

from mmengine.hooks import Hook

from mmssd.registry import HOOKS

#: Name of the MLflow backend in the runner's visualizer (mmengine names it by class).
MLFLOW_BACKEND = 'MLflowVisBackend'


@HOOKS.register_module()
class MlflowModelHook(Hook):
    """At the end of training, log the last checkpoint (the file named by
    ``work_dir/last_checkpoint``) to the MLflow run under ``artifact_path``.

    mmcv 1.x pickled the whole model with ``mlflow.pytorch.log_model``; a checkpoint
    holds the same weights, loads with ``torch.load(weights_only=True)`` (as every mmssd
    checkpoint does) and into ``init_detector``/``tools/test.py`` with the run's config.

    Args:
        artifact_path: folder of the run's artifacts that receives the checkpoint.
    """

    priority = 'NORMAL'  # after_run: before LoggerHook (BELOW_NORMAL) closes the run

    def __init__(self, artifact_path: str = 'models') -> None:
        self.artifact_path = artifact_path

    def after_run(self, runner) -> None:
        pointer = osp.join(runner.work_dir, 'last_checkpoint')
        if not osp.isfile(pointer):
            return
        with open(pointer) as f:
            path = f.read().strip()
        if osp.isfile(path):
            mlflow = runner.visualizer.get_backend(MLFLOW_BACKEND).experiment
            mlflow.log_artifact(osp.realpath(path), self.artifact_path)
