"""Evaluate a checkpoint: ``python tools/test.py CONFIG CHECKPOINT --eval bbox [options]``."""
from __future__ import annotations

import argparse
import os
import os.path as osp

from mmssd.apis import evaluate_detector, load_config
from mmssd.datasets.annotation_files import load_json
from mmssd.engine import install_checkpointing
from mmssd.evaluation.ground_truth import no_ground_truth_error
from mmssd.utils.cfg_options import CfgOptionsAction


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) a detector')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save the test log')
    parser.add_argument('--out', help='write the raw results to this .pkl file')
    parser.add_argument('--eval', nargs='+', help='metrics to compute, e.g. "bbox"')
    parser.add_argument('--format-only', action='store_true',
                        help='only write the results in the dataset format (needs '
                             '--eval-options jsonfile_prefix=...)')
    parser.add_argument('--eval-options', nargs='+', action=CfgOptionsAction,
                        help='metric arguments, e.g. classwise=True jsonfile_prefix=res')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                        help='override config settings, e.g. data.test.samples_per_gpu=8')
    parser.add_argument('--pr-curve-dir',
                        help='with --eval bbox: save per-class precision-recall curves to '
                             'DIR/pr_curves.png')
    parser.add_argument('--show-dir', help='save every test image with its predictions here')
    parser.add_argument('--show-score-thr', type=float, default=0.3,
                        help='smallest score drawn in --show-dir images')
    parser.add_argument('--show-gt', action='store_true',
                        help='also draw the ground truth (white) in --show-dir images')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    args = parser.parse_args(argv)
    if not (args.out or args.eval or args.format_only or args.show_dir):
        parser.error('give at least one of --out, --eval, --format-only and --show-dir')
    if args.pr_curve_dir and not (args.eval and 'bbox' in args.eval):
        parser.error('--pr-curve-dir needs --eval bbox (the curves come from the COCO '
                     'evaluation)')
    if args.out and not args.out.endswith(('.pkl', '.pickle')):
        parser.error(f'--out must be a .pkl or .pickle file, got {args.out}')
    return args


def metric_options(args: argparse.Namespace) -> dict:
    options = dict(args.eval_options or {})
    if args.eval:
        options['metric'] = args.eval if len(args.eval) > 1 else args.eval[0]
    if args.format_only:
        if 'jsonfile_prefix' not in options:
            raise SystemExit('--format-only needs --eval-options jsonfile_prefix=PATH')
        options['format_only'] = True
    if args.pr_curve_dir:
        options['pr_curve_dir'] = args.pr_curve_dir
    return options


def check_ground_truth(cfg, metrics: list[str]) -> None:
    """Stop before inference when ``metrics`` are asked of a COCO json test set without
    annotations (a competition's test.json): there is nothing to score."""
    test = cfg.data.test
    ann_file = test.get('ann_file') if hasattr(test, 'get') else None
    if not isinstance(ann_file, str) or not ann_file.endswith('.json'):
        return
    if test.get('data_root') and not osp.isabs(ann_file):
        ann_file = osp.join(test.data_root, ann_file)
    if not osp.isfile(ann_file):
        return  # the dataset names the missing file
    data = load_json(ann_file)
    if isinstance(data, dict) and isinstance(data.get('images'), list) \
            and not data.get('annotations'):
        raise SystemExit(f"--eval {' '.join(metrics)}: "
                         f"{no_ground_truth_error(ann_file, len(data['images']), metrics[0])}")


def main(argv: list[str] | None = None) -> None:
    install_checkpointing()  # weights-only loading, atomic writes, for this process
    args = parse_args(argv)
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'checkpoint file {args.checkpoint} does not exist')
    cfg = load_config(args.config, args.cfg_options, args.work_dir)
    cfg.launcher = args.launcher
    if args.eval:
        check_ground_truth(cfg, args.eval)
    metrics = evaluate_detector(cfg, args.checkpoint, metric_options(args), out=args.out,
                                evaluate=bool(args.eval or args.format_only),
                                show_dir=args.show_dir, show_score_thr=args.show_score_thr,
                                show_gt=args.show_gt)
    if os.environ.get('RANK', '0') == '0':  # every process has the metrics: print them once
        for name, value in metrics.items():
            print(f'{name}: {value}')


if __name__ == '__main__':
    main()
