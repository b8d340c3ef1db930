"""RepeatDataset: repeats items, keeps metainfo, validates ``times``."""
import numpy as np
import pytest
from torch.utils.data import Dataset

from mmssd.datasets import RepeatDataset


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
