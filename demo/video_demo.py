"""Detect objects in every frame of a video and write the video with the boxes drawn.

``python demo/video_demo.py VIDEO CONFIG CHECKPOINT --out OUT.mp4 [--score-thr 0.3]
[--device cpu] [--batch-size 4] [--snapshot FRAME.png [--snapshot-frame K]]``

Frames are read and written with OpenCV (``mp4v`` codec, the input's frame rate and
size), detected in batches, drawn as ``demo/image_demo.py`` draws (one colour per class,
``name|score`` labels), with a progress bar. ``--snapshot`` also saves frame ``K`` (0
first) as an image. A test video of moving demo shapes::

    python demo/make_demo_video.py demo_shapes.mp4
    python demo/video_demo.py demo_shapes.mp4 configs/demo/ssdlite_mobilenetv2_demo.py \
        work_dirs/demo/latest.pth --out demo_shapes_result.mp4
"""
from __future__ import annotations

import argparse
import os
import os.path as osp

import cv2
import mmcv
import numpy as np
from tqdm import tqdm

from mmssd.apis import inference_detector, init_detector
from mmssd.visualization import draw_result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Detect objects in a video')
    parser.add_argument('video', help='input video file')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', required=True, help='output video file (.mp4)')
    parser.add_argument('--device', default='cpu', help='device, e.g. cpu or cuda:0')
    parser.add_argument('--score-thr', type=float, default=0.3, help='smallest score drawn')
    parser.add_argument('--batch-size', type=int, default=4, help='frames per forward pass')
    parser.add_argument('--snapshot', help='also save one drawn frame to this image file')
    parser.add_argument('--snapshot-frame', type=int, default=0,
                        help='index of the --snapshot frame (0 is the first)')
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error(f'--batch-size must be at least 1, got {args.batch_size}')
    return args


def open_video(path: str) -> tuple[cv2.VideoCapture, float, int, tuple[int, int]]:
    """``(capture, fps, frame count (0 if unknown), (width, height))``."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'video file not found: {path}')
    capture = cv2.VideoCapture(path)
    if not capture.isOpened():
        raise ValueError(f'OpenCV cannot read {path} as a video')
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    count = max(int(capture.get(cv2.CAP_PROP_FRAME_COUNT)), 0)
    size = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    return capture, fps, count, size


def main(argv: list[str] | None = None) -> list[list[np.ndarray]]:
    """Run the demo; returns the detections of every frame (per class ``(n, 5)``)."""
    args = parse_args(argv)
    capture, fps, count, size = open_video(args.video)
    model = init_detector(args.config, args.checkpoint, device=args.device)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    writer = cv2.VideoWriter(args.out, cv2.VideoWriter_fourcc(*'mp4v'), fps, size)
    if not writer.isOpened():
        capture.release()
        raise ValueError(f'OpenCV cannot write a video to {args.out}; use an .mp4 name')
    results: list[list[np.ndarray]] = []
    progress = tqdm(total=count or None, desc='frames', unit='frame')
    try:
        done = False
        while not done:
            frames = []
            while len(frames) < args.batch_size:
                ok, frame = capture.read()
                if not ok:
                    done = True
                    break
                frames.append(frame)
            if not frames:
                break
            for frame, result in zip(frames, inference_detector(model, frames), strict=True):
                drawn = draw_result(frame, result, model.CLASSES, score_thr=args.score_thr)
                writer.write(drawn)
                if args.snapshot and len(results) == args.snapshot_frame:
                    mmcv.imwrite(drawn, args.snapshot)
                results.append(result)
            progress.update(len(frames))
    finally:
        progress.close()
        capture.release()
        writer.release()
    if not results:
        raise ValueError(f'{args.video} has no frame OpenCV can decode')
    kept = sum(int((r[:, 4] >= args.score_thr).sum()) for res in results for r in res)
    print(f'{len(results)} frames, {kept} detections with score >= {args.score_thr}; '
          f'saved to {args.out}' + (f' (frame {args.snapshot_frame}: {args.snapshot})'
                                    if args.snapshot else ''))
    return results


if __name__ == '__main__':
    main()
