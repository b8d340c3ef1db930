"""Plot curves from training logs and summarise training speed.

``python tools/analysis_tools/analyze_logs.py plot_curve LOG.json [LOG2.json ...]
--keys loss bbox_mAP [--legend A B] [--title T] [--out curve.png]``

``python tools/analysis_tools/analyze_logs.py cal_train_time LOG.json [--include-outliers]``

``LOG.json`` is the JSON-lines log of a run: ``<work_dir>/<timestamp>/vis_data/scalars.json``
(or the identical ``<timestamp>.json`` next to it); mmdetection 2.x json logs work too.
Training keys (``loss``, ``loss_cls``, ``lr``, ``time``, ...) are drawn against the
overall iteration, validation keys (``bbox_mAP``, ``bbox_mAP_50``, ``mAP``, ...) against
the epoch (or iteration, for iteration-based runs); one panel per key.
"""
from __future__ import annotations

import argparse
import os.path as osp
from collections import defaultdict

import numpy as np

from mmssd.utils.json_logs import TrainingLog, load_json_log


def run_name(path: str) -> str:
    """The work dir's name for ``<work_dir>/<timestamp>/vis_data/*.json``, else the file stem."""
    parts = osp.abspath(path).split(osp.sep)
    if len(parts) >= 4 and parts[-2] == 'vis_data':
        return parts[-4]
    return osp.splitext(osp.basename(path))[0]


def plot_curve(logs: list[TrainingLog], keys: list[str], legend: list[str] | None = None,
               title: str | None = None, out: str | None = None) -> None:
    """One panel per key, one line per log; saved to ``out`` or shown."""
    import matplotlib

    if out is not None:
        matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    legend = legend or [run_name(log.path) for log in logs]
    if len(legend) != len(logs):
        raise ValueError(f'{len(legend)} legend entries for {len(logs)} logs')
    fig, axes = plt.subplots(len(keys), 1, figsize=(7, 3.2 * len(keys)), squeeze=False)
    for ax, key in zip(axes[:, 0], keys, strict=True):
        drawn = False
        for log, name in zip(logs, legend, strict=True):
            for phase, records in (('train', log.train), ('val', log.val)):
                points = [(r['step'], r[key]) for r in records if key in r]
                if not points:
                    continue
                xs, ys = zip(*points, strict=True)
                ax.plot(xs, ys, marker='o' if phase == 'val' else None, markersize=4,
                        linewidth=1.2, label=f'{name} {key}')
                unit = 'epoch' if phase == 'val' and log.by_epoch else 'iteration'
                ax.set_xlabel(unit)
                drawn = True
        if not drawn:
            available = sorted({k for log in logs for p in ('train', 'val')
                                for k in log.keys(p)})
            raise KeyError(f'key {key!r} is in none of the logs; available: {available}')
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if out is None:
        plt.show()
    else:
        fig.savefig(out, dpi=100)
        print(f'saved {out}')
    plt.close(fig)


def train_time(log: TrainingLog, include_outliers: bool = False) -> dict:
    """Mean iteration time per epoch and over the run (seconds).

    The first iteration of each epoch (data loader start-up) is left out unless
    ``include_outliers``. Returns ``{'epoch_times': {epoch: s}, 'slowest': (epoch, s),
    'fastest': (epoch, s), 'std': s, 'average': s}``.
    """
    per_epoch: dict[int, list[float]] = defaultdict(list)
    for record in log.train:
        if 'time' not in record:
            continue
        epoch = int(record.get('epoch', 1))
        per_epoch[epoch].append(float(record['time']))
    if not per_epoch:
        raise ValueError(f'{log.path} has no training records with `time`')
    times = {e: float(np.mean(t if include_outliers or len(t) == 1 else t[1:]))
             for e, t in sorted(per_epoch.items())}
    values = np.array(list(times.values()))
    slowest = max(times.items(), key=lambda kv: kv[1])
    fastest = min(times.items(), key=lambda kv: kv[1])
    return dict(epoch_times=times, slowest=slowest, fastest=fastest,
                std=float(values.std()), average=float(values.mean()))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Analyse training logs')
    sub = parser.add_subparsers(dest='task', required=True)
    plot = sub.add_parser('plot_curve', help='plot curves of logged keys')
    plot.add_argument('json_logs', nargs='+', help='JSON-lines log files')
    plot.add_argument('--keys', nargs='+', default=['loss'], help='keys to plot')
    plot.add_argument('--legend', nargs='+', default=None, help='one name per log')
    plot.add_argument('--title', default=None, help='figure title')
    plot.add_argument('--out', default=None, help='save the figure here (else show it)')
    timing = sub.add_parser('cal_train_time', help='average iteration time per epoch')
    timing.add_argument('json_logs', nargs='+', help='JSON-lines log files')
    timing.add_argument('--include-outliers', action='store_true',
                        help="count each epoch's first iteration too")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> list[dict] | None:
    args = parse_args(argv)
    logs = [load_json_log(path) for path in args.json_logs]
    if args.task == 'plot_curve':
        plot_curve(logs, args.keys, args.legend, args.title, args.out)
        return None
    summaries = []
    for log in logs:
        summary = train_time(log, args.include_outliers)
        summaries.append(summary)
        print(f'{"-" * 10}Analyze train time of {log.path}{"-" * 10}')
        print(f"slowest epoch {summary['slowest'][0]}, "
              f"average time is {summary['slowest'][1]:.4f} s/iter")
        print(f"fastest epoch {summary['fastest'][0]}, "
              f"average time is {summary['fastest'][1]:.4f} s/iter")
        print(f"time std over epochs is {summary['std']:.4f}")
        print(f"average iter time: {summary['average']:.4f} s/iter\n")
    return summaries


if __name__ == '__main__':
    main()
