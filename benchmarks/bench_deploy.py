"""Per-image CPU latency of PyTorch eager against onnxruntime on the exported model, batch
1, the same number of threads for both, side by side in one process.

Models: SSDLite-MobileNetV2 at 320x320, RetinaNet R50-FPN and Faster R-CNN R50-FPN at
800x1216 (the COCO test size). Seeded PyTorch-default weights, the heads initialised as
mmdetection initialises them (``init_weights`` of the heads: few candidates pass
``score_thr``, as with trained weights; the backbones keep the default, since their
pretrained ``init_cfg`` would download). Each model is exported with
``tools/deployment``'s path (static input, batch 1, NMS and RoIAlign in the graph) and
both sides run the whole test-time model on the same normalized image: PyTorch
``simple_test`` (network, decoding, NMS, rescaling, per-class numpy arrays, under
``torch.inference_mode``) and ``ONNXRuntimeDetector.simple_test`` (the session, rescaling,
the same arrays). Rounds interleave the models and alternate which side goes first; per
round the ratio eager time / onnxruntime time (> 1: onnxruntime is faster) comes from the
two neighbouring measurements, so that the load of a shared machine cancels out as far as
it can. One warm-up round is not counted.

    python benchmarks/bench_deploy.py                       # 2 threads, 5 rounds
    python benchmarks/bench_deploy.py --quick               # SSDLite only, 1 round
"""
from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

import onednn_env  # noqa: F401  (sets oneDNN's cache size; must precede torch)
import torch
from mmengine.logging import MMLogger

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine_peak import cpu_model  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from mmssd.apis import init_detector  # noqa: E402
from mmssd.deployment.export import export_onnx  # noqa: E402
from mmssd.deployment.ort_detector import ONNXRuntimeDetector  # noqa: E402

#: name -> (config, input (H, W))
MODELS = {
    'ssdlite_320': ('configs/ssd/ssdlite_mobilenetv2_scratch_600e_coco.py', (320, 320)),
    'retinanet_r50_800x1216': ('configs/retinanet/retinanet_r50_fpn_1x_coco.py', (800, 1216)),
    'faster_rcnn_r50_800x1216': ('configs/faster_rcnn/faster_rcnn_r50_fpn_1x_coco.py',
                                 (800, 1216)),
}


def build(name: str, folder: Path, threads: int) -> tuple:
    """``(model, runtime, img, metas)`` of model ``name``: the PyTorch detector, its
    exported file on onnxruntime with ``threads`` intra-op threads, a normalized image."""
    config, (height, width) = MODELS[name]
    MMLogger.get_current_instance().setLevel(logging.WARNING)  # init_weights' report
    torch.manual_seed(0)
    model = init_detector(str(REPO / config), None)
    for head in ('bbox_head', 'rpn_head', 'roi_head'):
        if hasattr(model, head):
            getattr(model, head).init_weights()
    model.eval()
    img = torch.randn(1, 3, height, width, generator=torch.Generator().manual_seed(1))
    metas = [dict(img_shape=(height, width, 3), scale_factor=1.0)]
    path = folder / f'{name}.onnx'
    export_onnx(model, img, torch.tensor([[float(height), float(width)]]), str(path),
                metadata=dict(classes=list(model.CLASSES)))
    return model, ONNXRuntimeDetector(str(path), num_threads=threads), img, metas


def time_eager(model, img, metas) -> float:
    start = time.perf_counter()
    with torch.inference_mode():
        model.simple_test(img, metas, rescale=True)
    return time.perf_counter() - start


def time_ort(runtime: ONNXRuntimeDetector, img, metas) -> float:
    start = time.perf_counter()
    runtime.simple_test(img, metas)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--models', nargs='+', default=list(MODELS), choices=list(MODELS))
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--quick', action='store_true', help='SSDLite only, 1 round')
    args = parser.parse_args(argv)
    if args.quick:
        args.models, args.rounds = ['ssdlite_320'], 1
    torch.set_num_threads(args.threads)
    import onnxruntime
    print(f'torch {torch.__version__}, onnxruntime {onnxruntime.__version__}, '
          f'{cpu_model()}, {args.threads} threads, batch 1')
    times: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as folder:
        built = {name: build(name, Path(folder), args.threads) for name in args.models}
        for round_index in range(args.rounds + 1):  # round 0: warm-up
            for name, (model, runtime, img, metas) in built.items():
                sides = [('eager', time_eager, model), ('onnxruntime', time_ort, runtime)]
                if round_index % 2:
                    sides.reverse()
                measured = {side: timer(runner, img, metas) for side, timer, runner in sides}
                if round_index:
                    entry = times.setdefault(name, {'eager': [], 'onnxruntime': [],
                                                    'ratio': []})
                    for side, seconds in measured.items():
                        entry[side].append(seconds)
                    entry['ratio'].append(measured['eager'] / measured['onnxruntime'])
    print(f'\n{"model":<26}{"eager ms":>10}{"ort ms":>10}   eager/ort (median, min-max)')
    for name, entry in times.items():
        ratios = entry['ratio']
        print(f'{name:<26}{1e3 * statistics.median(entry["eager"]):>10.0f}'
              f'{1e3 * statistics.median(entry["onnxruntime"]):>10.0f}   '
              f'{statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f}, '
              f'{len(ratios)} rounds)')
    return times


if __name__ == '__main__':
    main()
