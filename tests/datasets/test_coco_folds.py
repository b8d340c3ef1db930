"""Stratified COCO folds: a partition of the images, balanced classes, complete files."""
from __future__ import annotations

from collections import Counter

import pytest

from mmssd.datasets.coco_folds import class_balance, fold_files, stratified_image_folds

CATS = [{'id': c, 'name': f'class{c}'} for c in range(5)]  # ids from 0, as in competitions


def make_coco(num_images: int = 53, num_empty: int = 3, rare: bool = False) -> dict:
    """``num_images`` images; image i (after the ``num_empty`` empty ones) holds one box of
    class ``i % 5`` and, every third image, a second box of class ``(i + 1) % 5``; with
    ``rare``, class 4 appears on two images only."""
    images = [{'id': i, 'file_name': f'{i}.jpg', 'width': 50, 'height': 40}
              for i in range(num_images)]
    anns = []
    for i in range(num_empty, num_images):
        classes = [i % 5] + ([(i + 1) % 5] if i % 3 == 0 else [])
        for c in classes:
            if rare and c == 4 and i > 10:
                c = 3
            anns.append({'id': len(anns), 'image_id': i, 'category_id': c,
                         'bbox': [1, 1, 10, 10], 'area': 100, 'iscrowd': 0})
    return {'info': {'description': 'test'}, 'images': images, 'annotations': anns,
            'categories': CATS}


def test_folds_partition_images_and_files_are_complete():
    data = make_coco()
    folds = stratified_image_folds(data, 5, seed=0)
    flat = [i for fold in folds for i in fold]
    assert sorted(flat) == list(range(53)) and len(set(flat)) == 53
    files = fold_files(data, folds)
    assert sorted(files) == sorted([f'train{k}' for k in range(5)] + [f'val{k}' for k in range(5)])
    for k in range(5):
        train, val = files[f'train{k}'], files[f'val{k}']
        assert [im['id'] for im in val['images']] == folds[k]
        assert {im['id'] for im in train['images']} == set(range(53)) - set(folds[k])
        # annotations follow their images, none lost or duplicated
        for part in (train, val):
            ids = {im['id'] for im in part['images']}
            assert all(a['image_id'] in ids for a in part['annotations'])
            assert part['categories'] == CATS and part['info'] == data['info']
        assert len(train['annotations']) + len(val['annotations']) == len(data['annotations'])


def test_classes_balanced_and_empty_images_spread():
    data = make_coco()
    folds = stratified_image_folds(data, 5, seed=0)
    fold_of = {i: k for k, fold in enumerate(folds) for i in fold}
    counts = Counter((a['category_id'], fold_of[a['image_id']]) for a in data['annotations'])
    for c in range(5):
        share = [counts[c, k] for k in range(5)]
        assert max(share) - min(share) <= 2, (c, share)  # an even split is total / 5 each
    # the three empty images go to three different folds
    assert len({fold_of[i] for i in (0, 1, 2)}) == 3


def test_deterministic_per_seed():
    data = make_coco()
    assert stratified_image_folds(data, 4, seed=3) == stratified_image_folds(data, 4, seed=3)
    assert stratified_image_folds(data, 4, seed=3) != stratified_image_folds(data, 4, seed=4)


def test_class_balance_table_counts_and_missing_classes():
    data = make_coco(rare=True)
    folds = stratified_image_folds(data, 5, seed=0)
    table, missing = class_balance(data, folds)
    assert missing == ['class4']  # on two images only: three validation folds lack it
    fold_of = {i: k for k, fold in enumerate(folds) for i in fold}
    rows = {line.split('|')[1].strip(): [cell.strip().split(' ')[0]
                                         for cell in line.split('|')[2:-1]]
            for line in table.splitlines() if line.startswith('|')}
    for c in range(5):
        fold_counts = [sum(1 for a in data['annotations']
                           if a['category_id'] == c and fold_of[a['image_id']] == k)
                       for k in range(5)]
        assert rows[f'class{c} (id {c})'] == [str(sum(fold_counts))] + list(map(str, fold_counts))
    assert rows['images'] == ['53'] + [str(len(f)) for f in folds]


@pytest.mark.parametrize('case, message', [
    ('one_fold', 'num_folds must be at least 2'),
    ('few_images', '3 images with annotations cannot be split into 5 folds'),
    ('bad_image', 'image_id=99, which is not an id of `images`'),
    ('bad_category', 'category_id=7, which is not an id of `categories`'),
])
def test_bad_input_named(case, message):
    data = make_coco(num_images=6) if case == 'few_images' else make_coco()
    folds = 1 if case == 'one_fold' else 5
    if case == 'bad_image':
        data['annotations'][0]['image_id'] = 99
    if case == 'bad_category':
        data['annotations'][0]['category_id'] = 7
    with pytest.raises(ValueError, match=message):
        stratified_image_folds(data, folds, ann_file='x.json')
