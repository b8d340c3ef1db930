"""Count a detector's multiply-adds and parameters for one input size.

``python tools/analysis_tools/get_flops.py CONFIG [--shape H [W]] [--cfg-options ...]``

Counts the network (backbone, neck and head convolutions) with mmengine's complexity
analysis (``mmengine.analysis``, traced with ``torch.jit``). Convention: **one fused
multiply-add counts as one operation** (what torchvision's model table and mmdetection
call GFLOPs; a "two operations per multiply-add" count would be twice as large). Box
decoding and NMS are not counted (data dependent, and negligible).
"""
from __future__ import annotations

import argparse

import torch
from mmengine.analysis import get_model_complexity_info

from mmssd.apis import init_detector
from mmssd.apis.tensor_forward import TensorForward
from mmssd.utils.cfg_options import CfgOptionsAction


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Count multiply-adds and parameters')
    parser.add_argument('config', help='config file')
    parser.add_argument('--shape', type=int, nargs='+', default=[300, 300],
                        help='input size: H W, or one number for a square input')
    parser.add_argument('--show-table', action='store_true',
                        help='print the per-module table as well')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                        help='override config settings')
    args = parser.parse_args(argv)
    if len(args.shape) == 1:
        args.shape = [args.shape[0], args.shape[0]]
    elif len(args.shape) != 2:
        parser.error('--shape takes one or two numbers')
    return args


def complexity(config: str, shape: tuple[int, int],
               cfg_options: dict | None = None) -> dict:
    """``{'mult_adds': int, 'params': int, 'model_params': int, 'table': str}`` of ``config``.

    ``mult_adds`` counts one multiply-add as one; ``params`` is mmengine's count and
    ``model_params`` the sum of the detector's parameter sizes (they agree).
    """
    model = init_detector(config, None, device='cpu', cfg_options=cfg_options)
    inputs = torch.zeros(1, 3, *shape)
    info = get_model_complexity_info(TensorForward(model).eval(), inputs=(inputs,),
                                     show_table=True, show_arch=False)
    return dict(mult_adds=int(info['flops']), params=int(info['params']),
                model_params=sum(p.numel() for p in model.parameters()),
                table=info['out_table'])


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    shape = (args.shape[0], args.shape[1])
    result = complexity(args.config, shape, args.cfg_options)
    if args.show_table:
        print(result['table'])
    line = '=' * 60
    print(f'{line}\nInput shape: (1, 3, {shape[0]}, {shape[1]})\n'
          f"Multiply-adds: {result['mult_adds'] / 1e9:.3f} G "
          f'(one multiply-add counted as one operation, the GFLOPs of torchvision and '
          f'mmdetection)\n'
          f"Params: {result['params'] / 1e6:.3f} M ({result['params']} parameters)\n{line}")
    return result


if __name__ == '__main__':
    main()
