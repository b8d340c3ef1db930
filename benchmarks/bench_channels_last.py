"""``model.channels_last=True`` against the default memory layout, for training and for
inference, fp32, SSD300-VGG16 and the demo SSDLite on CPU, side by side in one process.

Two copies of each model with the same random weights: the default (NCHW) one and one set
up as the ``channels_last`` option sets it (weights in ``torch.channels_last``, the
detector turning its input images NHWC in ``extract_feat``; the images given to both are
the same NCHW batch). Each round times, for both copies back to back (the order alternating
from round to round):

- one training step (``bench_train_step.train_step``: forward, target assignment and loss,
  backward, SGD with momentum and weight decay), each copy with its own optimizer;
- one ``mode='predict'`` call (``bench_inference.time_predict``: forward, decode, NMS,
  numpy results, under ``torch.inference_mode``).

Per round the ratio default time / channels_last time (> 1: channels_last is faster) is
taken from the two neighbouring measurements, so that the load of a shared machine
cancels out as far as it can; the table gives each copy's median time and the median,
minimum and maximum of the per-round ratios. One warm-up round is not counted.

    python benchmarks/bench_channels_last.py                   # batch 8, 7 rounds
    python benchmarks/bench_channels_last.py --models demo --rounds 15
    python benchmarks/bench_channels_last.py --quick           # demo, batch 2, 2 rounds
"""
from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import time
from pathlib import Path

import onednn_env  # noqa: F401  (sets oneDNN's cache size; must precede torch)
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_models  # noqa: E402
from bench_inference import time_predict  # noqa: E402
from bench_train_step import make_variant, train_step  # noqa: E402
from machine_peak import cpu_model  # noqa: E402

LAYOUTS = ('default', 'channels_last')


def as_channels_last(model: torch.nn.Module) -> torch.nn.Module:
    """A copy of ``model`` as the detector's ``channels_last=True`` option makes it."""
    model = copy.deepcopy(model)
    model.channels_last = True
    return model.to(memory_format=torch.channels_last)


def spread(ratios: list[float]) -> str:
    return (f'{statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f}, '
            f'{len(ratios)} rounds)')


def run_model(name: str, batch_size: int, rounds: int) -> dict[str, list[float]]:
    """Per-round ratios of model ``name``: ``{'train': [...], 'inference': [...]}``."""
    model, _ = bench_models.build_detector(name)
    size = bench_models.input_size(name)
    batch = bench_models.synthetic_batch(batch_size, size, model.bbox_head.num_classes)
    train = {'default': make_variant('fp32', model, batch),
             'channels_last': make_variant('fp32', as_channels_last(model), batch)}
    infer = {'default': copy.deepcopy(model).eval(),
             'channels_last': as_channels_last(model).eval()}
    times: dict[tuple[str, str], list[float]] = {(p, v): [] for p in ('train', 'inference')
                                                 for v in LAYOUTS}
    ratios: dict[str, list[float]] = {'train': [], 'inference': []}
    for r in range(rounds + 1):
        order = LAYOUTS if r % 2 == 0 else LAYOUTS[::-1]
        this_round = {}
        for layout in order:
            start = time.perf_counter()
            train_step(train[layout], record=False)
            this_round['train', layout] = time.perf_counter() - start
        for layout in order:
            this_round['inference', layout] = time_predict(infer[layout], batch[0], batch[1],
                                                           'fp32')
        if r == 0:  # warm-up
            continue
        for key, value in this_round.items():
            times[key].append(value)
        for phase in ratios:
            ratios[phase].append(this_round[phase, 'default'] /
                                 this_round[phase, 'channels_last'])
    print(f'\n== {name}: batch {batch_size}, 3x{size}x{size}, fp32')
    print(f'{"":>10}{"default ms":>14}{"channels_last ms":>18}   '
          'default / channels_last: median (min-max)')
    for phase in ratios:
        default = statistics.median(times[phase, 'default']) * 1e3
        cl = statistics.median(times[phase, 'channels_last']) * 1e3
        print(f'{phase:>10}{default:>14.1f}{cl:>18.1f}   {spread(ratios[phase])}')
    return ratios


def main(argv: list[str] | None = None) -> dict[str, dict[str, list[float]]]:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--models', nargs='+', default=['ssd300', 'demo'],
                        choices=sorted(bench_models.MODEL_CONFIGS))
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--rounds', type=int, default=7)
    parser.add_argument('--threads', type=int, default=None,
                        help='torch threads (default: torch\'s choice)')
    parser.add_argument('--quick', action='store_true', help='demo, batch 2, 2 rounds')
    args = parser.parse_args(argv)
    if args.quick:
        args.models, args.batch_size, args.rounds = ['demo'], 2, 2
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f'torch {torch.__version__}, {cpu_model()}, {torch.get_num_threads()} threads, '
          f'OMP_NUM_THREADS={os.environ.get("OMP_NUM_THREADS")}, '
          f'OMP_WAIT_POLICY={os.environ.get("OMP_WAIT_POLICY")}, '
          f'load average {os.getloadavg()[0]:.1f} at the start')
    results = {name: run_model(name, args.batch_size, args.rounds) for name in args.models}
    print(f'load average {os.getloadavg()[0]:.1f} at the end')
    return results


if __name__ == '__main__':
    main()
