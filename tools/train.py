"""Train a detector: ``python tools/train.py CONFIG [--work-dir DIR] [options]``."""
from __future__ import annotations

import argparse
import sys

from mmssd.apis import load_config, train_detector
from mmssd.apis.interrupt import TrainingInterrupted
from mmssd.engine import install_checkpointing
from mmssd.utils.cfg_options import CfgOptionsAction
from mmssd.utils.config_error import ConfigError


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a detector')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    resume = parser.add_mutually_exclusive_group()
    resume.add_argument('--resume-from', help='the checkpoint file to resume from')
    resume.add_argument('--auto-resume', action='store_true',
                        help='resume from the newest complete checkpoint in the work dir '
                             '(the one its last_checkpoint file and latest.pth name)')
    parser.add_argument('--no-validate', action='store_true',
                        help='do not evaluate checkpoints during training')
    parser.add_argument('--seed', type=int, default=None, help='random seed')
    parser.add_argument('--deterministic', action='store_true',
                        help='use deterministic algorithms (with --seed: repeatable runs)')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                        help='override config settings, e.g. optimizer.lr=0.01')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    install_checkpointing()  # weights-only loading, atomic writes, for this process
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options, args.work_dir)
    if args.resume_from:
        cfg.resume_from = args.resume_from
    if args.auto_resume:
        cfg.auto_resume = True
    if args.seed is not None:
        cfg.seed = args.seed
    if args.deterministic:
        cfg.deterministic = True
    cfg.launcher = args.launcher
    try:
        train_detector(cfg, validate=not args.no_validate)
    except TrainingInterrupted as stop:  # SIGTERM / Ctrl-C: the message, no traceback
        print(stop, file=sys.stderr)
        raise SystemExit(128 + stop.signum) from None
    except ConfigError as error:  # a setting to change, named by the message: one line
        raise SystemExit(f'{type(error).__name__}: {error}') from None


if __name__ == '__main__':
    main()
