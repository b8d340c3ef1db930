"""Evaluate saved detections: ``python tools/analysis_tools/eval_metric.py CONFIG RESULTS
--eval bbox [--eval-options classwise=True ...] [--cfg-options ...]``.

``RESULTS`` is what ``tools/test.py CONFIG CKPT --out results.pkl`` writes, or a COCO
result json (``--eval-options jsonfile_prefix=...`` of ``tools/test.py``, the output of
``fuse_results.py``, a submission file). The metric is the config's (``evaluation``, as
``tools/test.py`` uses it) on ``data.test``, so the numbers equal those of the test run.
"""
from __future__ import annotations

import argparse

from mmssd.apis import load_config
from mmssd.datasets.builder import build_dataset
from mmssd.engine.config_translation import evaluator_config
from mmssd.evaluation.offline_eval import evaluate_results, load_results
from mmssd.utils import register_all_modules
from mmssd.utils.cfg_options import CfgOptionsAction


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Evaluate saved detection results')
    parser.add_argument('config', help='test config file')
    parser.add_argument('results', help='results .pkl (tools/test.py --out) or COCO result '
                                        '.json')
    parser.add_argument('--eval', nargs='+', required=True,
                        help='metrics, e.g. "bbox" (COCO) or "mAP" (VOC)')
    parser.add_argument('--eval-options', nargs='+', action=CfgOptionsAction,
                        help='metric arguments, e.g. classwise=True')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                        help='override config settings')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    register_all_modules()
    cfg = load_config(args.config, args.cfg_options)
    test_cfg = dict(cfg.data.test, test_mode=True)
    dataset = build_dataset(test_cfg)
    results = load_results(args.results, dataset)
    options = dict(args.eval_options or {})
    options['metric'] = args.eval if len(args.eval) > 1 else args.eval[0]
    metrics = evaluate_results(results, dataset, evaluator_config(cfg, test_cfg, options))
    for name, value in metrics.items():
        print(f'{name}: {value}')
    return metrics


if __name__ == '__main__':
    main()
