"""Unreadable or undecodable training images read in DataLoader worker processes.

Without ``skip_bad_images`` the error that reaches the main process names the file;
with it every bad image is replaced by a readable one of its aspect-ratio group, the
workers' skips add up in one shared count, and one warning is printed for the run.
"""
from __future__ import annotations

import re

import pytest
from torch.utils.data import DataLoader

from mmssd.datasets import CocoDataset, GroupSampler, detection_collate
from mmssd.datasets.bad_images import BadImageWarning
from mmssd.datasets.pipelines import ImageDecodeError
from tests.helpers.tiny_coco import tiny_config, write_tiny_coco
from tests.helpers.tools import run_tool

PIPELINE = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True),
            dict(type='Resize', img_scale=(32, 32), keep_ratio=False),
            dict(type='RandomFlip', flip_ratio=0.0),
            dict(type='DefaultFormatBundle'),
            dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels'])]
SIZES = [(48, 40), (48, 40), (40, 48), (40, 48), (48, 40), (40, 48)]


@pytest.fixture(scope='module')
def bad_root(tmp_path_factory):
    """6 images; ``img1.jpg`` is text, ``img3.jpg`` a JPEG cut in half."""
    root = write_tiny_coco(tmp_path_factory.mktemp('bad_images'), SIZES)
    (root / 'imgs/img1.jpg').write_text('not an image')
    jpeg = (root / 'imgs/img3.jpg').read_bytes()
    (root / 'imgs/img3.jpg').write_bytes(jpeg[:len(jpeg) // 2])
    return root


def dataset(root, **kwargs) -> CocoDataset:
    return CocoDataset(ann_file=str(root / 'ann.json'), img_prefix=str(root / 'imgs'),
                       pipeline=PIPELINE, classes=('box',), **kwargs)


def loader(ds: CocoDataset) -> DataLoader:
    return DataLoader(ds, batch_size=2, sampler=GroupSampler(ds, samples_per_gpu=2, seed=0),
                      num_workers=2, collate_fn=detection_collate)


def test_worker_error_names_the_file(bad_root):
    with pytest.raises(ImageDecodeError) as info:
        list(loader(dataset(bad_root)))
    message = str(info.value)
    assert 'DataLoader worker process' in message
    assert re.search(rf'(cannot decode image file {bad_root}/imgs/img1\.jpg|'
                     rf'truncated JPEG file {bad_root}/imgs/img3\.jpg)', message)


def test_skipped_in_workers_counted_once(bad_root):
    ds = dataset(bad_root, skip_bad_images=True)
    batches = list(loader(ds))
    assert len(batches) == 4 and all(b['img'].shape[0] == 2 for b in batches)  # 2 x (3 -> 4)
    served = [m['ori_filename'] for b in batches for m in b['img_metas']]
    assert not {'img1.jpg', 'img3.jpg'} & set(served)
    # the sampler asked for each bad image at least once; every ask counted, in the
    # parent, though the workers did the skipping (a retry may hit a bad image again)
    assert ds.num_skipped_images >= 2
    # one shared count: exactly one process saw it reach 1 and warned (the warning
    # itself is checked in the same process below and in the training run)


def test_same_process_warning_and_test_mode(bad_root):
    ds = dataset(bad_root, skip_bad_images=True)
    with pytest.warns(BadImageWarning, match=r"image id 2 \('img1.jpg'\)") as record:
        ds[1]
        ds[3]
    # retries draw from the image's group, which may hit a bad image again
    assert len(record) == 1 and ds.num_skipped_images >= 2
    with pytest.raises(ImageDecodeError, match=rf'{bad_root}/imgs/img1\.jpg'):
        dataset(bad_root, skip_bad_images=True, test_mode=True)[1]


@pytest.mark.slow
def test_training_run_skips_bad_images(bad_root, tmp_path):
    """``tools/train.py`` with 2 loader workers: the epoch completes with one warning."""
    config = tiny_config(tmp_path / 'cfg.py', bad_root, workers=2)
    work = tmp_path / 'work'
    result = run_tool(['tools/train.py', str(config), '--work-dir', str(work), '--seed', '0',
                       '--no-validate', '--cfg-options', 'data.train.skip_bad_images=True'])
    output = result.stdout + result.stderr
    assert output.count('BadImageWarning') == 1
    assert re.search(r"skipped unreadable image image id [24] \('img[13]\.jpg'\)", output)
    assert (work / 'epoch_1.pth').is_file()
