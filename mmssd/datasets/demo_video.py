"""A short synthetic video for the video demo: demo shapes drifting over a demo background.

Frames are drawn the way :mod:`mmssd.datasets.demo_shapes` draws images (same classes,
colour families and backgrounds), so a detector trained on the demo data finds the shapes;
each shape moves at constant speed and bounces off the borders.
"""
from __future__ import annotations

import os
import os.path as osp

import cv2
import numpy as np

from .demo_shapes import DEMO_CLASSES, class_colour, draw_background, shape_polygon


def render_demo_video(out_file: str, num_frames: int = 48, width: int = 320,
                      height: int = 240, num_objects: int = 5, fps: float = 12.0,
                      seed: int = 0) -> list[list[tuple[int, tuple[float, float, float, float]]]]:
    """Write an mp4 (``mp4v``) of ``num_frames`` frames through OpenCV.

    Returns:
        Per frame, ``(label, (x1, y1, x2, y2))`` of each shape (its polygon's bounds).

    Raises:
        ValueError: a non-positive size or frame count.
        RuntimeError: OpenCV cannot open a writer for ``out_file``.
    """
    if num_frames < 1 or width < 64 or height < 64:
        raise ValueError(f'need num_frames >= 1 and a frame of at least 64x64 px, got '
                         f'{num_frames} frames of {width}x{height}')
    rng = np.random.default_rng(seed)
    background = draw_background(rng, height, width)
    shapes = []
    for _ in range(num_objects):
        label = int(rng.integers(len(DEMO_CLASSES)))
        size = float(rng.uniform(28, 56))
        poly = shape_polygon(rng, label, size)
        if poly is None:  # circle
            angles = np.linspace(0, 2 * np.pi, 32, endpoint=False)
            poly = np.stack([np.cos(angles), np.sin(angles)], 1) * size / 2
        shapes.append(dict(label=label, poly=poly, colour=class_colour(rng, label),
                           pos=rng.uniform([size, size], [width - size, height - size]),
                           vel=rng.uniform(-4, 4, 2)))
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    writer = cv2.VideoWriter(out_file, cv2.VideoWriter_fourcc(*'mp4v'), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f'OpenCV could not open a video writer for {out_file}')
    truth = []
    try:
        for _ in range(num_frames):
            frame = background.copy()
            boxes = []
            for shape in shapes:
                points = shape['poly'] + shape['pos']
                low, high = points.min(0), points.max(0)
                # bounce: reverse the velocity on the axis that would leave the frame
                for axis, limit in ((0, width), (1, height)):
                    if low[axis] + shape['vel'][axis] < 0 or \
                            high[axis] + shape['vel'][axis] > limit - 1:
                        shape['vel'][axis] *= -1
                cv2.fillPoly(frame, [np.round(points * 16).astype(np.int32)], shape['colour'],
                             lineType=cv2.LINE_8, shift=4)
                boxes.append((shape['label'], (*low.tolist(), *high.tolist())))
                shape['pos'] = shape['pos'] + shape['vel']
            noise = rng.normal(0, 4, frame.shape)
            writer.write(np.clip(frame + noise, 0, 255).astype(np.uint8))
            truth.append(boxes)
    finally:
        writer.release()
    return truth
