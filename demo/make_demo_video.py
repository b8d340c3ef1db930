"""Write a short test video of demo shapes drifting over a background (OpenCV, mp4v).

``python demo/make_demo_video.py OUT.mp4 [--frames 48] [--size 320 240] [--seed 0]``

The shapes are drawn like the demo dataset's (:mod:`mmssd.datasets.demo_video`), so the
demo detector finds them; feed the file to ``demo/video_demo.py``.
"""
from __future__ import annotations

import argparse

from mmssd.datasets.demo_video import render_demo_video


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description='Write a demo-shapes test video')
    parser.add_argument('out', help='video file to write (.mp4)')
    parser.add_argument('--frames', type=int, default=48, help='number of frames')
    parser.add_argument('--size', type=int, nargs=2, default=(320, 240),
                        metavar=('WIDTH', 'HEIGHT'), help='frame size in px')
    parser.add_argument('--objects', type=int, default=5, help='number of shapes')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    args = parser.parse_args(argv)
    render_demo_video(args.out, args.frames, *args.size, num_objects=args.objects,
                      seed=args.seed)
    print(f'wrote {args.out}: {args.frames} frames of {args.size[0]}x{args.size[1]}')


if __name__ == '__main__':
    main()
