"""Evaluate an exported ONNX model on a config's test set through onnxruntime.

``python tools/deployment/test.py CONFIG MODEL.onnx --eval bbox [--show-dir DIR]
[--out R.pkl] [--eval-options ...] [--cfg-options ...]``

The config's test pipeline makes the inputs and the same runner, metrics and drawing as
``tools/test.py`` score them (:func:`mmssd.apis.evaluate_detector` with an
:class:`mmssd.deployment.ONNXRuntimeModel`): only the network differs.
"""
from __future__ import annotations

import argparse
import importlib.util
import os.path as osp

from mmssd.apis import evaluate_detector, load_config
from mmssd.deployment import ONNXRuntimeModel


def pytorch_test_tool():
    """``tools/test.py`` as a module (its arguments, metric options and checks)."""
    path = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'test.py')
    spec = importlib.util.spec_from_file_location('mmssd_tools_test', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Evaluate an ONNX model with onnxruntime')
    parser.add_argument('config', help='config file (test pipeline, dataset, metric)')
    parser.add_argument('model', help='the .onnx file (tools/deployment/pytorch2onnx.py)')
    parser.add_argument('--work-dir', help='the dir to save the test log')
    parser.add_argument('--out', help='write the raw results to this .pkl file')
    parser.add_argument('--eval', nargs='+', help='metrics to compute, e.g. "bbox"')
    parser.add_argument('--eval-options', nargs='+', default=None,
                        help='metric arguments, e.g. classwise=True')
    parser.add_argument('--cfg-options', nargs='+', default=None,
                        help='override config settings, e.g. data.test.samples_per_gpu=2')
    parser.add_argument('--show-dir', help='save every test image with its predictions here')
    parser.add_argument('--show-score-thr', type=float, default=0.3,
                        help='smallest score drawn in --show-dir images')
    parser.add_argument('--num-threads', type=int, default=0,
                        help="onnxruntime's intra-op threads (0: its default)")
    args = parser.parse_args(argv)
    if not (args.out or args.eval or args.show_dir):
        parser.error('give at least one of --out, --eval and --show-dir')
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    tool = pytorch_test_tool()
    # tools/test.py parses the shared options (key=value actions, --out checks)
    shared = tool.parse_args([args.config, args.model, *(['--eval', *args.eval] if args.eval
                                                        else []),
                              *(['--out', args.out] if args.out else []),
                              *(['--eval-options', *args.eval_options]
                                if args.eval_options else []),
                              *(['--cfg-options', *args.cfg_options]
                                if args.cfg_options else []),
                              *(['--show-dir', args.show_dir] if args.show_dir else [])])
    if not osp.isfile(args.model):
        raise SystemExit(f'ONNX file {args.model} does not exist')
    if not args.model.endswith('.onnx'):
        raise SystemExit(f'{args.model} is not an .onnx file; evaluate checkpoints with '
                         'tools/test.py')
    cfg = load_config(args.config, shared.cfg_options, args.work_dir)
    if args.eval:
        tool.check_ground_truth(cfg, args.eval)
    metrics = evaluate_detector(cfg, args.model, tool.metric_options(shared), out=args.out,
                                evaluate=bool(args.eval), show_dir=args.show_dir,
                                show_score_thr=args.show_score_thr,
                                model=ONNXRuntimeModel(args.model, args.num_threads))
    for name, value in metrics.items():
        print(f'{name}: {value}')
    return metrics


if __name__ == '__main__':
    main()
