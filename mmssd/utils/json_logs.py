"""Read the JSON-lines training logs of mmssd (mmengine) and mmdetection 2.x runs.

mmengine writes ``<work_dir>/<timestamp>/vis_data/scalars.json`` and an identical
``<timestamp>.json`` beside it: one JSON object per line. Training records hold ``lr``,
``loss``, ``loss_*``, ``time``, ``data_time``, ``epoch`` (epoch-based runs), ``iter``
(iteration within the epoch, or overall for iteration-based runs) and ``step`` (overall
iteration); validation records hold the metrics (``bbox_mAP``, ...) and ``step`` (the
epoch, or the iteration for iteration-based runs). mmdetection 2.x logs mark each record
with ``mode`` (``'train'`` / ``'val'``) and count ``iter`` within the epoch.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass
class TrainingLog:
    """Records of one run, split by phase.

    Attributes:
        path: the log file.
        train: training records, each with ``'step'`` (overall iteration, from 1) and,
            for epoch-based runs, ``'epoch'``.
        val: validation records, each with ``'step'`` (epoch for epoch-based runs, else
            the overall iteration).
        by_epoch: whether the run counted epochs.
    """

    path: str
    train: list[dict] = field(default_factory=list)
    val: list[dict] = field(default_factory=list)
    by_epoch: bool = True

    def keys(self, phase: str) -> list[str]:
        """Numeric keys present in the ``phase`` (``'train'`` / ``'val'``) records."""
        names: dict[str, None] = {}
        for record in getattr(self, phase):
            for key, value in record.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    names.setdefault(key)
        return list(names)


def _is_train(record: dict) -> bool:
    if 'mode' in record:
        return record['mode'] == 'train'
    return 'lr' in record or 'iter' in record or any(k.startswith('loss') for k in record)


def load_json_log(path: str) -> TrainingLog:
    """Parse one JSON-lines log (mmengine or mmdetection 2.x); lines without data are skipped.

    Raises:
        ValueError: a line is not JSON (message names the file and line), or the file
            holds no training or validation records.
    """
    log = TrainingLog(path=path)
    iters_per_epoch: dict[int, int] = {}
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f'{path}, line {number}: not JSON ({error})') from None
            if not isinstance(record, dict) or (
                    'mode' not in record and 'step' not in record and 'iter' not in record):
                continue  # e.g. the env_info / config line of 2.x logs
            if _is_train(record):
                log.train.append(record)
                if 'epoch' in record and 'iter' in record:
                    epoch = int(record['epoch'])
                    iters_per_epoch[epoch] = max(iters_per_epoch.get(epoch, 0),
                                                 int(record['iter']))
            else:
                log.val.append(record)
    if not log.train and not log.val:
        raise ValueError(f'{path} holds no training or validation records')
    log.by_epoch = any('epoch' in r for r in log.train) or not log.train
    for record in log.train:  # 2.x: overall step from (epoch, iter within the epoch)
        if 'step' not in record and 'epoch' in record:
            done = sum(n for e, n in iters_per_epoch.items() if e < int(record['epoch']))
            record['step'] = done + int(record['iter'])
    for record in log.val:
        if 'step' not in record:
            record['step'] = record.get('epoch', record.get('iter'))
    return log
