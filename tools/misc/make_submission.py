"""Write a competition submission CSV from a COCO result json.

Usage::

    python tools/misc/make_submission.py RESULT.bbox.json --ann data/trash/test.json \
        --out submission.csv [--score-thr 0.0]

``RESULT.bbox.json`` is a COCO result list (``tools/test.py ... --format-only
--eval-options jsonfile_prefix=RESULT`` or ``tools/analysis_tools/fuse_results.py``). The
CSV has the columns ``PredictionString,image_id`` and one row per image of ``--ann`` (in
its order; images without detections get an empty ``PredictionString``): ``label score
xmin ymin xmax ymax`` per box, labels 0-based in the order of ``--ann``'s categories,
``image_id`` the image's ``file_name`` (:mod:`mmssd.evaluation.submission`).
``fuse_results.py`` reads such CSVs back.
"""
from __future__ import annotations

import argparse

from mmssd.datasets.annotation_files import load_json
from mmssd.evaluation.submission import write_submission


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='COCO result json -> submission CSV')
    parser.add_argument('result', help='COCO result json (a list of detections)')
    parser.add_argument('--ann', required=True,
                        help='COCO json of the test images (images and categories)')
    parser.add_argument('--out', required=True, help='CSV file to write')
    parser.add_argument('--score-thr', type=float, default=0.0,
                        help='leave out boxes scoring below this')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> list[tuple[str, str]]:
    args = parse_args(argv)
    dets = load_json(args.result)
    if not isinstance(dets, list):
        raise SystemExit(f'{args.result} is not a COCO result list (a json list of '
                         'detections)')
    ann = load_json(args.ann)
    kept = [d for d in dets if float(d.get('score', 0)) >= args.score_thr]
    try:
        rows = write_submission(kept, ann, args.out)
    except (KeyError, ValueError) as error:
        raise SystemExit(f'{args.result} with {args.ann}: {error}') from None
    empty = sum(not prediction for prediction, _ in rows)
    print(f'{len(rows)} images ({empty} without detections), {len(kept)} boxes: {args.out}')
    return rows


if __name__ == '__main__':
    main()
