"""mmssd's Runner: the environment header's device lines, and quiet checkpoint loading."""
from __future__ import annotations

import pytest
import torch
from mmengine.model import BaseModel

from mmssd.engine.runner import DetRunner, runtime_devices


@pytest.mark.parametrize('world_size, device, gpus', [(1, 'cpu', 0), (2, 'cpu', 0),
                                                       (1, 'cuda', 1), (4, 'cuda', 4)])
def test_gpu_number_counts_gpus_not_processes(world_size, device, gpus):
    assert runtime_devices(world_size, device) == {
        'World size': world_size, 'Device': device, 'GPU number': gpus}


class TinyModel(BaseModel):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 2)

    def forward(self, inputs=None, data_samples=None, mode='tensor'):
        return self.linear(inputs)


@pytest.fixture
def runner(tmp_path):
    # a name per test: mmengine caches loggers by name (+ the second it started)
    return DetRunner(model=TinyModel(), work_dir=str(tmp_path / 'work'),
                     experiment_name=f'det_runner_{tmp_path.name}', default_scope='mmssd')


def log_text(runner: DetRunner) -> str:
    with open(f'{runner.log_dir}/{runner.timestamp}.log') as f:
        return f.read()


def test_header_is_truthful_on_this_machine(runner):
    text = log_text(runner)
    cuda = torch.cuda.is_available()
    assert f'CUDA available: {cuda}' in text
    assert 'World size: 1' in text
    assert f'GPU number: {1 if cuda else 0}' in text


def test_load_checkpoint_prints_nothing_and_logs_the_path(runner, tmp_path, capfd):
    path = tmp_path / 'tiny.pth'
    weights = {k: torch.full_like(v, 0.5) for k, v in runner.model.state_dict().items()}
    torch.save({'state_dict': weights}, path)
    capfd.readouterr()
    runner.load_checkpoint(str(path))
    assert 'Loads checkpoint by' not in capfd.readouterr().out
    assert f'Load checkpoint from {path}' in log_text(runner)  # the runner's own line
    torch.testing.assert_close(runner.model.linear.weight, torch.full((2, 2), 0.5))
