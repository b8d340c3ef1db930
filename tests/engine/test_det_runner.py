"""mmssd's Runner: the environment header's device lines, quiet checkpoint loading, and a
config formatted once per content."""
from __future__ import annotations

import pytest
import torch
from mmengine.config import Config
from mmengine.model import BaseModel

from mmssd.engine.runner import DetRunner, runtime_devices
from tests.helpers.toy_runner import EPOCHS, train_toy_runner


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


def test_run_config_formats_once_per_content(tmp_path, monkeypatch):
    cfg = Config(dict(model=dict(type='Tiny', widths=[1, 2]), runner=dict(max_epochs=3)))
    calls = []
    formatted = Config.pretty_text.fget

    def counting(self):
        calls.append(1)
        return formatted(self)

    monkeypatch.setattr(Config, 'pretty_text', property(counting))
    # a run that logs and dumps its config and saves a regular and a best checkpoint a
    # epoch, each with the config's text in its meta
    runner = train_toy_runner(tmp_path, runner_type=DetRunner, cfg=cfg, save_best='acc')
    assert type(runner.cfg).__name__ == 'RunConfig'
    assert len(calls) == 1
    text = formatted(cfg)
    for name in (f'epoch_{EPOCHS}.pth', f'best_acc_epoch_{EPOCHS}.pth'):
        assert torch.load(tmp_path / name, weights_only=True)['meta']['cfg'] == text
    assert runner.cfg.pretty_text == text and len(calls) == 1
    runner.cfg.model.widths = [3]  # a changed config is formatted again
    changed = runner.cfg.pretty_text
    assert changed != text and changed == formatted(runner.cfg) and len(calls) == 2
