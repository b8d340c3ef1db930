"""Pseudo-labels: a model's confident detections on the test images as training data.

Usage::

    # run a model on the test images
    python tools/misc/pseudo_label.py CONFIG CHECKPOINT --ann data/trash/test.json \
        --img-prefix data/trash/ --score-thr 0.5 --out pseudo.json [--merge train.json]
    # or from detections made before: a COCO result json, a tools/test.py --out pickle,
    # or several result jsons fused by weighted boxes fusion first
    python tools/misc/pseudo_label.py --results A.bbox.json [B.bbox.json ...] \
        --ann data/trash/test.json --score-thr 0.5 --out pseudo.json [--merge train.json]

Writes a COCO file of the test images with the boxes scoring ``>= --score-thr`` as
annotations, each image and annotation marked ``"pseudo": true``
(:mod:`mmssd.datasets.pseudo_labels`). ``--merge train.json`` numbers the ids after the
training file's and writes the union of both to ``--out``; ``--train-ann train.json``
numbers them the same way but writes the pseudo-labels alone (to train on both files,
``data.train.ann_file=['train.json', 'pseudo.json']`` with one ``img_prefix`` per file).
A threshold that keeps nothing stops with the highest score seen.
"""
from __future__ import annotations

import argparse

from tqdm import tqdm

from mmssd.datasets.annotation_files import load_json
from mmssd.datasets.converters import write_json
from mmssd.datasets.pseudo_labels import merge_coco, pseudo_label_coco
from mmssd.utils.cfg_options import CfgOptionsAction


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Pseudo-labels from detections on test images')
    parser.add_argument('config', nargs='?', help='config of the model to run')
    parser.add_argument('checkpoint', nargs='?', help='its checkpoint')
    parser.add_argument('--results', nargs='+',
                        help='detections instead of a model: COCO result jsons (several are '
                             'fused by WBF) or one tools/test.py --out pickle')
    parser.add_argument('--ann', required=True, help='COCO json of the test images')
    parser.add_argument('--img-prefix', default='', help='folder of the test images')
    parser.add_argument('--score-thr', type=float, default=0.5, help='lowest score kept')
    parser.add_argument('--out', required=True, help='COCO json to write')
    group = parser.add_mutually_exclusive_group()
    group.add_argument('--merge', metavar='TRAIN_JSON',
                       help='write the union with this training file (ids after its ids)')
    group.add_argument('--train-ann', metavar='TRAIN_JSON',
                       help='number the ids after this training file\'s; write pseudo alone')
    parser.add_argument('--iou-thr', type=float, default=0.55,
                        help='WBF IoU when several --results are fused')
    parser.add_argument('--batch-size', type=int, default=4, help='images per forward pass')
    parser.add_argument('--device', default='cpu', help='device of the model')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                        help='override config settings, KEY=VALUE')
    args = parser.parse_args(argv)
    if bool(args.results) == bool(args.config):
        parser.error('give CONFIG CHECKPOINT or --results, not both')
    if args.config and not args.checkpoint:
        parser.error('CONFIG needs a CHECKPOINT')
    return args


def model_detections(args: argparse.Namespace, test_ann: dict) -> list[dict]:
    """Run the model on every test image; COCO detections in the test file's ids (model
    label ``i`` is the file's ``i``-th category)."""
    import os.path as osp

    from mmssd.apis import inference_detector, init_detector
    from mmssd.evaluation import results2json

    model = init_detector(args.config, args.checkpoint, args.device, args.cfg_options)
    cat_ids = [int(c['id']) for c in test_ann['categories']]
    if len(model.CLASSES) != len(cat_ids):
        raise SystemExit(f'the model predicts {len(model.CLASSES)} classes; {args.ann} has '
                         f'{len(cat_ids)} categories')
    images = test_ann['images']
    pairs = []
    for start in tqdm(range(0, len(images), args.batch_size), desc='detecting', unit='batch'):
        batch = images[start:start + args.batch_size]
        paths = [osp.join(args.img_prefix, img['file_name']) for img in batch]
        pairs += zip((int(img['id']) for img in batch), inference_detector(model, paths))
    return results2json(pairs, cat_ids)


def result_detections(args: argparse.Namespace, test_ann: dict) -> list[dict]:
    """The detections of ``--results``: one json or pickle, or several jsons fused."""
    from mmssd.datasets import CocoDataset
    from mmssd.evaluation import results2json
    from mmssd.evaluation.box_fusion import fuse_detections
    from mmssd.evaluation.offline_eval import dataset_img_ids, load_results

    if len(args.results) > 1:
        sizes = {int(img['id']): (float(img['width']), float(img['height']))
                 for img in test_ann['images']}
        return fuse_detections([load_json(p) for p in args.results], sizes,
                               iou_thr=args.iou_thr, max_per_img=0)
    path = args.results[0]
    if path.endswith('.json'):
        dets = load_json(path)
        if not isinstance(dets, list):
            raise SystemExit(f'{path} is not a COCO result list (a json list of detections)')
        return dets
    dataset = CocoDataset(ann_file=args.ann, img_prefix=args.img_prefix, pipeline=[],
                          test_mode=True,
                          classes=tuple(c['name'] for c in test_ann['categories']))
    results = load_results(path, dataset)
    return results2json(list(zip(dataset_img_ids(dataset), results, strict=True)),
                        dataset.cat_ids)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    test_ann = load_json(args.ann)
    train_file = args.merge or args.train_ann
    train_ann = load_json(train_file) if train_file else None
    dets = (result_detections(args, test_ann) if args.results
            else model_detections(args, test_ann))
    try:
        pseudo = pseudo_label_coco(dets, test_ann, args.score_thr, train_ann)
        out = merge_coco(train_ann, pseudo) if args.merge else pseudo
    except ValueError as error:
        raise SystemExit(f'{args.ann}: {error}') from None
    write_json(out, args.out)
    print(f"{len(pseudo['annotations'])} pseudo boxes (score >= {args.score_thr}) on "
          f"{len(pseudo['images'])} of {len(test_ann['images'])} test images"
          + (f", merged with {args.merge}" if args.merge else '') + f': {args.out}')
    return out


if __name__ == '__main__':
    main()
