"""Dataset wrappers: Repeat, Concat (classes check, global indices), ClassBalanced."""
import numpy as np
import pytest
from torch.utils.data import Dataset

from mmssd.datasets import ClassBalancedDataset, ConcatDataset, RepeatDataset


class Tiny(Dataset):
    CLASSES = ('a', 'b')
    flag = np.array([0, 1, 1], dtype=np.uint8)
    metainfo = {'classes': ('a', 'b'), 'cat_ids': [1, 2], 'ann_file': 'x.json'}

    def __getitem__(self, idx):
        return {'idx': idx}

    def __len__(self):
        return 3


def test_repeats_items_flags_and_metainfo():
    repeated = RepeatDataset(Tiny(), times=3)
    assert len(repeated) == 9
    assert [repeated[i]['idx'] for i in range(9)] == [0, 1, 2] * 3
    assert repeated.flag.tolist() == [0, 1, 1] * 3
    assert repeated.metainfo['classes'] == ('a', 'b')


@pytest.mark.parametrize('times', [0, -1, 1.5])
def test_bad_times_is_named(times):
    with pytest.raises(ValueError, match='times'):
        RepeatDataset(Tiny(), times=times)


# --------------------------------------------------------------------------- ConcatDataset
class Labelled(Dataset):
    """Images with given label lists; ``flag`` from ``flags``."""

    def __init__(self, labels: list[list[int]], classes=('a', 'b', 'c'), name='x.json',
                 flags=None):
        self.labels = labels
        self.CLASSES = classes
        self.ann_file = name
        self.flag = np.array(flags if flags is not None else [0] * len(labels), np.uint8)

    @property
    def metainfo(self):
        return {'classes': self.CLASSES, 'cat_ids': [0, 1, 2], 'ann_file': self.ann_file}

    def get_cat_ids(self, idx):
        return list(self.labels[idx])

    def get_ann_info(self, idx):
        return {'labels': np.array(self.labels[idx])}

    def __getitem__(self, idx):
        return {'name': self.ann_file, 'idx': idx}

    def __len__(self):
        return len(self.labels)


def test_concat_indexes_flags_and_metainfo():
    first = Labelled([[0], [1]], name='first.json', flags=[1, 0])
    second = Labelled([[2], [2, 0], []], name='second.json', flags=[0, 1, 1])
    cat = ConcatDataset([first, second])
    assert len(cat) == 5 and cat.CLASSES == ('a', 'b', 'c') and cat.separate_eval is True
    assert [cat[i]['name'] for i in range(5)] == ['first.json'] * 2 + ['second.json'] * 3
    assert cat[3] == {'name': 'second.json', 'idx': 1} and cat[-1]['idx'] == 2
    assert cat.flag.tolist() == [1, 0, 0, 1, 1]
    assert cat.get_cat_ids(3) == [2, 0] and cat.get_ann_info(2)['labels'].tolist() == [2]
    assert cat.get_cat_ids(-3) == [2]
    assert cat.metainfo == first.metainfo and cat.metainfo is not first.metainfo
    with pytest.raises(IndexError):
        cat.get_cat_ids(5)


def test_concat_names_the_dataset_whose_classes_differ():
    with pytest.raises(ValueError, match=r"datasets\[2\] Labelled \(ann_file=odd\.json\) "
                                         r"has CLASSES \('a', 'z'\) but datasets\[0\].*"
                                         r"\('a', 'b', 'c'\)"):
        ConcatDataset([Labelled([[0]]), Labelled([[1]]),
                       Labelled([[0]], classes=('a', 'z'), name='odd.json')])
    with pytest.raises(ValueError, match='empty'):
        ConcatDataset([])


def test_concat_builds_configs(coco_root):
    cfg = {'type': 'CocoDataset', 'data_root': str(coco_root), 'ann_file': 'ann.json',
           'img_prefix': 'imgs/', 'classes': ('cat', 'dog', 'bird'), 'pipeline': []}
    cat = ConcatDataset([cfg, dict(cfg, classes=('cat', 'dog', 'bird'), test_mode=True)],
                        separate_eval=False)
    assert [len(d) for d in cat.datasets] == [3, 5] and len(cat) == 8
    assert cat.separate_eval is False
    np.testing.assert_array_equal(cat.get_ann_info(3)['bboxes'],
                                  cat.datasets[1].get_ann_info(0)['bboxes'])


# --------------------------------------------------------------------------- ClassBalanced
# 5 images with categories {0}, {0, 1}, {0}, {2}, {}:  f_0 = 3/5, f_1 = f_2 = 1/5.
CATS = [[0], [0, 1, 1], [0], [2], []]


def test_class_balanced_repeat_factors_by_hand():
    """thr = 0.9: r_0 = sqrt(0.9 / 0.6) = 1.2247, r_1 = r_2 = sqrt(0.9 / 0.2) = 2.1213;
    images: max over their categories -> [1.2247, 2.1213, 1.2247, 2.1213, 1] -> ceil
    [2, 3, 2, 3, 1] copies."""
    balanced = ClassBalancedDataset(Labelled(CATS, flags=[0, 1, 0, 1, 1]), oversample_thr=0.9)
    r0, r1 = (0.9 / 0.6) ** 0.5, (0.9 / 0.2) ** 0.5
    assert balanced.repeat_factors == pytest.approx([r0, r1, r0, r1, 1.0])
    assert balanced.repeat_indices == [0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 4]
    assert len(balanced) == 11
    assert balanced.flag.tolist() == [0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1]
    assert [balanced[i]['idx'] for i in (0, 2, 10)] == [0, 1, 4]
    assert balanced.get_cat_ids(7) == [2] and balanced.metainfo['classes'] == ('a', 'b', 'c')


def test_class_balanced_low_threshold_repeats_nothing():
    """thr = 0.1 < every f_c: all factors max(1, sqrt(<1)) = 1."""
    assert ClassBalancedDataset(Labelled(CATS), oversample_thr=0.1).repeat_indices == \
        [0, 1, 2, 3, 4]


def test_class_balanced_empty_images_as_pseudo_category():
    """filter_empty_gt=False: image 4 has the pseudo category 3 (f = 1/5) -> r = sqrt(0.5/0.2)
    = 1.58 -> 2 copies; with True it keeps factor 1. thr = 0.5: r_0 = 1, r_1 = r_2 = 1.58."""
    kept = ClassBalancedDataset(Labelled(CATS), oversample_thr=0.5)
    assert kept.repeat_indices == [0, 1, 1, 2, 3, 3, 4]
    pseudo = ClassBalancedDataset(Labelled(CATS), oversample_thr=0.5, filter_empty_gt=False)
    assert pseudo.repeat_indices == [0, 1, 1, 2, 3, 3, 4, 4]


def test_class_balanced_bad_threshold():
    with pytest.raises(ValueError, match='oversample_thr'):
        ClassBalancedDataset(Labelled(CATS), oversample_thr=0)


def test_repeat_dataset_forwards_ann_queries():
    repeated = RepeatDataset(Labelled(CATS), times=2)
    assert repeated.get_cat_ids(6) == [0, 1, 1]
    assert repeated.get_ann_info(8)['labels'].tolist() == [2]
