"""Pseudo-labels (mmssd.datasets.pseudo_labels, tools/misc/pseudo_label.py): detections on
the competition demo's test images -> a file merged with the training file that loads in
CocoDataset with unique ids, whose pseudo boxes are the detections above the threshold.
Training on such a merged file runs in docs/tutorials/competition_recipe.md (step 4, run
by tests/docs/test_tutorials.py), which is not repeated here for the suite's time."""
from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from mmssd.datasets import CocoDataset, make_demo_dataset
from tests.helpers.tools import load_tool

CLASSES = ('General trash', 'Paper', 'Paper pack', 'Metal', 'Glass', 'Plastic', 'Styrofoam',
           'Plastic bag', 'Battery', 'Clothing')


@pytest.fixture(scope='module')
def trash(tmp_path_factory) -> Path:
    """The competition layout of a tiny demo set: train.json (4 images), test.json (4)."""
    root = tmp_path_factory.mktemp('pseudo')
    make_demo_dataset(str(root / 'demo'), num_train=4, num_val=4, seed=1)
    load_tool('tools/misc/make_competition_demo.py').main(
        ['--demo', str(root / 'demo'), '--out', str(root / 'trash')])
    return root / 'trash'


def random_detections(test: dict, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    dets = []
    for img in test['images']:
        for _ in range(6):
            x, y = rng.uniform(0, 100, 2)
            w, h = rng.uniform(8, 60, 2)
            dets.append({'image_id': img['id'], 'category_id': int(rng.integers(10)),
                         'bbox': [float(x), float(y), float(w), float(h)],
                         'score': float(rng.uniform(0, 0.95))})
    return dets


def write_merged(trash: Path) -> tuple[Path, list[dict]]:
    """pseudo_label.py --merge on random detections; the merged file and the kept ones."""
    dets = random_detections(json.loads((trash / 'test.json').read_text()))
    (trash / 'dets.bbox.json').write_text(json.dumps(dets))
    merged_file = trash / 'train_pseudo.json'
    load_tool('tools/misc/pseudo_label.py').main(
        ['--results', str(trash / 'dets.bbox.json'), '--ann', str(trash / 'test.json'),
         '--score-thr', '0.5', '--merge', str(trash / 'train.json'), '--out', str(merged_file)])
    return merged_file, [d for d in dets if d['score'] >= 0.5]


def test_merged_file_round_trip(trash: Path, capsys):
    train = json.loads((trash / 'train.json').read_text())
    merged_file, kept = write_merged(trash)
    assert f'{len(kept)} pseudo boxes (score >= 0.5) on 4 of 4 test images' in \
        capsys.readouterr().out
    merged = json.loads(merged_file.read_text())
    for key in ('images', 'annotations'):
        ids = [r['id'] for r in merged[key]]
        assert len(ids) == len(set(ids)) == len(train[key]) + (4 if key == 'images' else
                                                              len(kept))
    dataset = CocoDataset(ann_file=str(merged_file), img_prefix=str(trash), pipeline=[],
                          classes=CLASSES)
    pseudo_images = [img for img in merged['images'] if img.get('pseudo')]
    for img in pseudo_images:
        index = dataset.data_infos.index(next(i for i in dataset.data_infos
                                              if i['id'] == img['id']))
        info = dataset.get_ann_info(index)
        expected = sorted([*d['bbox'][:2], d['bbox'][0] + d['bbox'][2],
                           d['bbox'][1] + d['bbox'][3], d['category_id']]
                          for d in kept if d['image_id'] == img['source_id'])
        got = sorted([*box, label] for box, label in zip(info['bboxes'].tolist(),
                                                          info['labels'].tolist()))
        np.testing.assert_allclose(got, expected, atol=1e-3)  # label = category id here
    assert all(a['pseudo'] for a in merged['annotations'][len(train['annotations']):])


def test_a_threshold_that_keeps_nothing_names_the_best_score(trash: Path):
    dets = random_detections(json.loads((trash / 'test.json').read_text()))
    (trash / 'low.bbox.json').write_text(json.dumps(dets))
    best = max(d['score'] for d in dets)
    with pytest.raises(SystemExit, match=f'no detection scores >= 0.99: the highest score is '
                                         f'{best:.4g}'):
        load_tool('tools/misc/pseudo_label.py').main(
            ['--results', str(trash / 'low.bbox.json'), '--ann', str(trash / 'test.json'),
             '--score-thr', '0.99', '--out', str(trash / 'none.json')])


def test_pickle_and_fused_jsons_give_the_same_pseudo_boxes(trash: Path):
    """A tools/test.py-style pickle (per image in file order, per class arrays) and two
    identical result jsons fused by WBF keep what the json alone keeps."""
    from mmssd.evaluation.json2results import json2results

    test = json.loads((trash / 'test.json').read_text())
    dets = random_detections(test, seed=5)
    as_json, as_pickle = trash / 'd5.bbox.json', trash / 'd5.pkl'
    as_json.write_text(json.dumps(dets))
    with open(as_pickle, 'wb') as f:
        pickle.dump(json2results(dets, [img['id'] for img in test['images']],
                                 [c['id'] for c in test['categories']]), f)
    tool = load_tool('tools/misc/pseudo_label.py').main
    common = ['--ann', str(trash / 'test.json'), '--img-prefix', str(trash),
              '--score-thr', '0.5', '--out', str(trash / 'p.json')]

    def boxes(results: list[str]) -> list[list[float]]:
        out = tool(['--results', *results, *common])
        return sorted([a['image_id'], a['category_id'], *a['bbox'], a['score']]
                      for a in out['annotations'])

    expected = boxes([str(as_json)])
    assert len(expected) == sum(d['score'] >= 0.5 for d in dets)
    np.testing.assert_allclose(boxes([str(as_pickle)]), expected, atol=1e-4)
    np.testing.assert_allclose(boxes([str(as_json), str(as_json)]), expected, atol=1e-4)


@pytest.mark.slow
@pytest.mark.usefixtures('torch_single_thread')
def test_from_a_model_the_boxes_are_its_detections(demo_run, tmp_path: Path):
    """CONFIG CHECKPOINT mode on the shared demo model: the pseudo boxes are what
    inference_detector finds on the image above the threshold, in the file's ids."""
    from mmssd.apis import inference_detector, init_detector

    out = tmp_path / 'pseudo.json'
    pseudo = load_tool('tools/misc/pseudo_label.py').main(
        [str(demo_run.config), str(demo_run.checkpoint), '--ann', str(demo_run.ann_file),
         '--img-prefix', str(demo_run.image.parent), '--score-thr', '0.5', '--out', str(out)])
    result = inference_detector(init_detector(str(demo_run.config), str(demo_run.checkpoint)),
                                str(demo_run.image))
    expected = sorted([label + 1, *box[:4]] for label, dets in enumerate(result)
                      for box in dets.tolist() if box[4] >= 0.5)
    got = sorted([a['category_id'], a['bbox'][0], a['bbox'][1], a['bbox'][0] + a['bbox'][2],
                  a['bbox'][1] + a['bbox'][3]] for a in pseudo['annotations'])
    assert len(expected) >= 3
    np.testing.assert_allclose(got, expected, atol=1e-3)
    assert [img['source_id'] for img in pseudo['images']] == [4]
