"""Checkpoints readable with weights_only=True, and a loader that never unpickles code."""
import collections
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import _load_checkpoint

from mmssd.engine.checkpoint import (
    UnsafeCheckpointError,
    install_checkpointing,
    load_weights_only,
    restore_history_buffers,
    to_weights_only,
)


def mmengine_like_checkpoint() -> dict:
    buffer = HistoryBuffer()
    for value in (1.5, 0.25, 3.0):
        buffer.update(value)
    return {
        'meta': {'epoch': 3, 'iter': np.int64(120), 'seed': 7, 'cfg': "model = dict()",
                 'dataset_meta': {'classes': ('a', 'b'), 'cat_ids': [1, 2]}},
        'state_dict': collections.OrderedDict(w=torch.ones(2)),
        'message_hub': {'log_scalars': {'train/loss': buffer},
                        'runtime_info': {'epoch': 3, 'best_score': np.float64(0.5),
                                         'keep_ckpt_ids': [2, 3]},
                        'resumed_keys': {'epoch': True}},
        'param_schedulers': [{'milestones': collections.Counter({8: 1, 11: 1}), 'gamma': 0.1}],
    }


def test_numpy_free_checkpoint_round_trips_through_weights_only(tmp_path):
    original = mmengine_like_checkpoint()
    path = tmp_path / 'ckpt.pth'
    torch.save(to_weights_only(original), path)
    loaded = load_weights_only(str(path))
    hub = restore_history_buffers(loaded['message_hub'])
    buffer = hub['log_scalars']['train/loss']
    assert isinstance(buffer, HistoryBuffer)
    np.testing.assert_allclose(buffer.data[0], [1.5, 0.25, 3.0])
    assert buffer.mean() == pytest.approx((1.5 + 0.25 + 3.0) / 3)
    buffer.update(1.0)  # still a working buffer after resume
    assert hub['runtime_info']['best_score'] == 0.5
    assert type(hub['runtime_info']['best_score']) is float
    assert loaded['meta']['iter'] == 120
    assert loaded['param_schedulers'][0]['milestones'] == collections.Counter({8: 1, 11: 1})
    assert torch.equal(loaded['state_dict']['w'], torch.ones(2))


def test_raw_mmengine_checkpoint_is_refused_with_the_file_named(tmp_path):
    path = tmp_path / 'foreign.pth'
    torch.save(mmengine_like_checkpoint(), path)
    with pytest.raises(UnsafeCheckpointError, match='foreign.pth'):
        load_weights_only(str(path))


class Exploit:
    def __reduce__(self):
        return (os.system, (f'touch {self.marker}',))


def test_code_in_a_checkpoint_is_never_run(tmp_path):
    marker = tmp_path / 'pwned'
    Exploit.marker = marker
    path = tmp_path / 'evil.pth'
    with open(path, 'wb') as f:
        pickle.dump({'state_dict': Exploit()}, f, protocol=2)
    install_checkpointing()
    with pytest.raises(pickle.UnpicklingError):
        _load_checkpoint(str(path), map_location='cpu')  # mmengine's entry point
    assert not marker.exists()
