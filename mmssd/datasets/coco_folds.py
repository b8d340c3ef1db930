"""Stratified k-fold splits of one COCO detection json (``train{k}.json`` / ``val{k}.json``).

The folds are made over *images* (every image lands in exactly one validation fold) while
balancing the per-class *annotation* counts across folds: scikit-learn's
:class:`~sklearn.model_selection.StratifiedGroupKFold` over the annotations, with the class
as the stratification label and the image as the group. Images without annotations have
nothing to stratify; they are dealt out in a seeded order to the folds holding the fewest
images. Every fold file keeps all top-level keys of the source (``info``, ``licenses``, ...)
and the full ``categories`` list, so each file declares every class.
"""
from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold
from terminaltables import AsciiTable


def _check_references(data: dict, ann_file: str) -> None:
    """Raise a ``ValueError`` when an annotation names an unknown image or category."""
    img_ids = {img['id'] for img in data['images']}
    cat_ids = {cat['id'] for cat in data['categories']}
    for i, ann in enumerate(data.get('annotations') or []):
        for key, known, section in (('image_id', img_ids, 'images'),
                                    ('category_id', cat_ids, 'categories')):
            if key not in ann:
                raise ValueError(f'{ann_file}: annotations[{i}] has no `{key}`')
            if ann[key] not in known:
                raise ValueError(f"{ann_file}: annotations[{i}] (id {ann.get('id')}) has "
                                 f'{key}={ann[key]!r}, which is not an id of `{section}`')


def stratified_image_folds(data: dict, num_folds: int, seed: int = 0,
                           ann_file: str = 'the annotation file') -> list[list[int]]:
    """Image ids of each validation fold.

    Args:
        data: a COCO detection dict (``images``, ``categories``, ``annotations``).
        num_folds: number of folds k (>= 2).
        seed: seed of the shuffling (the same seed and file give the same folds).
        ann_file: name of the source, for error messages.

    Returns:
        ``num_folds`` lists of image ids, disjoint, together every image of ``data``,
        each in the order of ``data['images']``.

    Raises:
        ValueError: ``num_folds < 2``, fewer annotated images than folds, or an
            annotation referring to an unknown image or category.
    """
    if num_folds < 2:
        raise ValueError(f'num_folds must be at least 2, got {num_folds}')
    _check_references(data, ann_file)
    anns = data.get('annotations') or []
    annotated = sorted({ann['image_id'] for ann in anns})
    if len(annotated) < num_folds:
        raise ValueError(f'{ann_file}: {len(annotated)} images with annotations cannot be '
                         f'split into {num_folds} folds; use fewer folds (--num-folds)')
    labels = np.array([ann['category_id'] for ann in anns])
    groups = np.array([ann['image_id'] for ann in anns])
    splitter = StratifiedGroupKFold(n_splits=num_folds, shuffle=True, random_state=seed)
    fold_of: dict[int, int] = {}
    with warnings.catch_warnings():
        # classes rarer than k: reported by the class-balance table instead
        warnings.filterwarnings('ignore', message='The least populated class')
        splits = splitter.split(np.zeros((len(labels), 1)), labels, groups)
        for fold, (_, val_idx) in enumerate(splits):
            fold_of.update({int(img_id): fold for img_id in np.unique(groups[val_idx])})
    sizes = Counter(fold_of.values())
    empty = [img['id'] for img in data['images'] if img['id'] not in fold_of]
    for i in np.random.default_rng(seed).permutation(len(empty)):
        fold = min(range(num_folds), key=lambda f: (sizes[f], f))
        fold_of[empty[i]] = fold
        sizes[fold] += 1
    folds: list[list[int]] = [[] for _ in range(num_folds)]
    for img in data['images']:
        folds[fold_of[img['id']]].append(img['id'])
    return folds


def subset(data: dict, img_ids: Sequence[int]) -> dict:
    """``data`` restricted to ``img_ids`` and their annotations (other keys kept as are)."""
    keep = set(img_ids)
    out = dict(data)
    out['images'] = [img for img in data['images'] if img['id'] in keep]
    out['annotations'] = [a for a in data.get('annotations') or [] if a['image_id'] in keep]
    return out


def fold_files(data: dict, folds: Sequence[Sequence[int]]) -> dict[str, dict]:
    """``{'train0': ..., 'val0': ..., 'train1': ...}``: fold k validates on ``folds[k]`` and
    trains on every other image."""
    all_ids = [img['id'] for img in data['images']]
    out = {}
    for k, val_ids in enumerate(folds):
        val = set(val_ids)
        out[f'train{k}'] = subset(data, [i for i in all_ids if i not in val])
        out[f'val{k}'] = subset(data, val_ids)
    return out


def class_balance(data: dict, folds: Sequence[Sequence[int]]) -> tuple[str, list[str]]:
    """A table of the annotations of each class in each validation fold, and the names of
    the classes absent from at least one validation fold.

    Returns:
        ``(table, missing)``: the AsciiTable text (rows: classes, then the image count;
        columns: the total and ``val0`` .. ``val{k-1}`` as ``count (percent of the
        class)``), and the names of classes that some validation fold lacks.
    """
    fold_of = {img_id: k for k, ids in enumerate(folds) for img_id in ids}
    counts = Counter((a['category_id'], fold_of[a['image_id']])
                     for a in data.get('annotations') or [])
    header = ['category', 'total', *[f'val{k}' for k in range(len(folds))]]
    rows, missing = [header], []
    for cat in data['categories']:
        per_fold = [counts[cat['id'], k] for k in range(len(folds))]
        total = sum(per_fold)
        cells = [f'{n} ({100 * n / total:.0f}%)' if total else '0' for n in per_fold]
        rows.append([f"{cat['name']} (id {cat['id']})", str(total), *cells])
        if min(per_fold) == 0:
            missing.append(cat['name'])
    rows.append(['images', str(sum(len(f) for f in folds)), *[str(len(f)) for f in folds]])
    return AsciiTable(rows).table, missing
