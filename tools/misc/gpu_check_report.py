"""The Python side of ``tools/misc/gpu_check.sh``: its CUDA check, its config options, and
its report (img/s and mAP of each run next to the CPU figures of ``docs/benchmarks.md``).

``python tools/misc/gpu_check_report.py check-cuda``
    exit 0 where CUDA is usable, else print why to stderr and exit 2.
``python tools/misc/gpu_check_report.py options DATA [--epochs 5] [--workers 4]``
    the ``--cfg-options`` of every run, one a line: the demo data under ``DATA``, batches of
    :data:`BATCH`, ``--epochs`` epochs, validation and a checkpoint at the end only.
``python tools/misc/gpu_check_report.py variant fp32|fp16|dist``
    the extra options of a variant, one a line.
``python tools/misc/gpu_check_report.py report OUT [--runs RUN ...]``
    a Markdown table of the runs under ``OUT`` (``OUT/<run>/``: the work dir, with
    ``train.txt``, ``test.txt`` and ``inference.txt`` as the script writes them).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
from pathlib import Path

#: Demo configs by the model part of a run's name (``<model>_<variant>``).
CONFIGS = {'ssdlite': 'configs/demo/ssdlite_mobilenetv2_demo.py',
           'faster_rcnn': 'configs/demo/faster_rcnn_r18_fpn_demo.py'}
#: The variants: mmdetection 2.x's mixed precision key, and one torchrun process on nccl.
VARIANTS = {'fp32': [], 'fp16': ['fp16.loss_scale=dynamic'],
            'dist': ['dist_params.backend=nccl']}
RUNS = ('ssdlite_fp32', 'ssdlite_fp16', 'ssdlite_dist', 'faster_rcnn_fp32',
        'faster_rcnn_fp16')
#: Images per iteration (one process), as in the CPU figures below.
BATCH = 16
#: Training log records left out of the rate: the first iterations (CUDA start-up, cuDNN
#: autotuning, the loader's first batches) are slower.
SKIP_RECORDS = 2

#: CPU figures to compare with, per model: (train img/s, inference img/s, mAP), each with
#: where it comes from. All from the 2-core AMD EPYC VM, torch 2.14.1.
CPU_REFERENCE = {
    'ssdlite': dict(
        train='58 (16 / 0.276 s/iter)',
        train_source='docs/benchmarks.md, "Through tools/train.py": logged time 0.265-0.287 '
                     's/iteration, batch 16, one loader worker',
        inference='95.4 (batch 1), 289.3 (batch 8)',
        inference_source='docs/benchmarks.md, inference table: model only, random weights',
        mAP='bbox_mAP_50 0.73-0.94 (14 epochs)',
        mAP_source='README.md, "Train and evaluate the demo detector"; seeds 0-1 in '
                   'docs/benchmarks.md, "Distributed"'),
    'faster_rcnn': dict(
        train='16.7 (16 / 0.96 s/iter)',
        train_source='docs/benchmarks.md, "Two-stage demo": logged time about 0.96 s per '
                     'iteration, batch 16',
        inference='-', inference_source='not measured on CPU',
        mAP='bbox_mAP_50 0.976, bbox_mAP 0.789 (8 epochs)',
        mAP_source='docs/benchmarks.md, "Two-stage demo", seed 0'),
}


def cuda_problem() -> str | None:
    """Why this machine cannot run the check, or None where CUDA is usable."""
    import torch
    if torch.cuda.is_available():
        return None
    built = torch.version.cuda or 'no CUDA'
    return (f'gpu_check.sh needs a CUDA GPU: torch.cuda.is_available() is False here '
            f'(torch {torch.__version__}, built with {built}; CUDA_VISIBLE_DEVICES='
            f"{os.environ.get('CUDA_VISIBLE_DEVICES', '(unset)')}). "
            'Run it on a machine with an NVIDIA GPU and its driver.')


def short_options(data: str | Path, epochs: int, workers: int) -> list[str]:
    """The ``--cfg-options`` every run shares (see the module docstring)."""
    data = Path(data)
    options = [f'data.train.ann_file={data}/annotations/instances_train.json',
               f'data.train.img_prefix={data}/train/']
    for split in ('val', 'test'):
        options += [f'data.{split}.ann_file={data}/annotations/instances_val.json',
                    f'data.{split}.img_prefix={data}/val/']
    return options + [f'data.samples_per_gpu={BATCH}', f'data.workers_per_gpu={workers}',
                      f'runner.max_epochs={epochs}', f'evaluation.interval={epochs}',
                      f'checkpoint_config.interval={epochs}', 'log_config.interval=10']


def train_rate(work_dir: Path, batch: int = BATCH, world_size: int = 1) -> float | None:
    """Training img/s from the newest JSON log under ``work_dir``: ``batch * world_size``
    over the median logged ``time`` (s/iteration) past the first :data:`SKIP_RECORDS`."""
    logs = sorted(work_dir.glob('*/vis_data/*.json'))
    if not logs:
        return None
    records = [json.loads(line) for line in logs[-1].read_text().splitlines() if line]
    times = [r['time'] for r in records if 'loss' in r and 'time' in r]
    times = times[SKIP_RECORDS:] or times
    return batch * world_size / statistics.median(times) if times else None


def printed_value(path: Path, pattern: str) -> str | None:
    """The first group of the last line of ``path`` that ``pattern`` matches, if any."""
    if not path.is_file():
        return None
    found = re.findall(pattern, path.read_text(), flags=re.MULTILINE)
    return found[-1] if found else None


def run_row(out: Path, run: str) -> list[str]:
    """One table row: run, device, train img/s, inference img/s, bbox_mAP_50, bbox_mAP."""
    work = out / run
    if not (work / 'train.txt').is_file():
        return [run, 'not run', '-', '-', '-', '-']
    device = printed_value(work / 'train.txt', r'^\s*Device: (\S+)$') or '?'
    rate = train_rate(work)
    inference = printed_value(work / 'inference.txt', r'^run \d+: ([\d.]+) img/s')
    map50 = printed_value(work / 'test.txt', r'^bbox_mAP_50: ([-\d.]+)$')
    map_ = printed_value(work / 'test.txt', r'^bbox_mAP: ([-\d.]+)$')
    return [run, device, f'{rate:.1f}' if rate else 'failed', inference or '-',
            map50 or 'failed', map_ or 'failed']


def report(out: Path, runs: list[str]) -> str:
    """The Markdown tables: this machine's runs, then the CPU figures with their sources."""
    head = ['run', 'device', 'train img/s', 'inference img/s (batch 16)', 'bbox_mAP_50',
            'bbox_mAP']
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    lines += ['| ' + ' | '.join(run_row(out, run)) + ' |' for run in runs]
    lines += ['', 'CPU figures to compare with (2-core AMD EPYC VM; the mAP after the full '
              'schedules, not these short runs):', '',
              '| model | train img/s | inference img/s | mAP | sources |', '|---|---|---|---|---|']
    for model, ref in CPU_REFERENCE.items():
        sources = '; '.join(ref[f'{k}_source'] for k in ('train', 'inference', 'mAP'))
        lines.append(f"| {model} | {ref['train']} | {ref['inference']} | {ref['mAP']} | "
                     f'{sources} |')
    return '\n'.join(lines)


def print_lines(lines: list[str]) -> None:
    """Each of ``lines`` on its own line, and nothing at all for none (the script reads
    them with ``mapfile``: an empty line would be an empty argument)."""
    sys.stdout.write(''.join(f'{line}\n' for line in lines))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    commands = parser.add_subparsers(dest='command', required=True)
    commands.add_parser('check-cuda', help='exit 2 with the reason where CUDA is not usable')
    options = commands.add_parser('options', help='the shared --cfg-options, one a line')
    options.add_argument('data', help='demo data folder (tools/misc/make_demo_data.py --out)')
    options.add_argument('--epochs', type=int, default=5)
    options.add_argument('--workers', type=int, default=4)
    variant = commands.add_parser('variant', help="a variant's extra options, one a line")
    variant.add_argument('name', choices=sorted(VARIANTS))
    config = commands.add_parser('config', help="a model's demo config")
    config.add_argument('model', choices=sorted(CONFIGS))
    table = commands.add_parser('report', help='the Markdown tables of the runs under OUT')
    table.add_argument('out')
    table.add_argument('--runs', nargs='+', default=list(RUNS))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.command == 'check-cuda':
        problem = cuda_problem()
        if problem:
            print(problem, file=sys.stderr)
            return 2
    elif args.command == 'options':
        print_lines(short_options(args.data, args.epochs, args.workers))
    elif args.command == 'variant':
        print_lines(VARIANTS[args.name])
    elif args.command == 'config':
        print(CONFIGS[args.model])
    else:
        print(report(Path(args.out), args.runs))
    return 0


if __name__ == '__main__':
    sys.exit(main())
