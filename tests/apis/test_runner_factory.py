"""``make_runner`` builds the ``Runner`` exactly as the translation says: the hooks are those
of the translated ``default_hooks`` and ``custom_hooks`` (nothing added on the way), and
``model_wrapper_cfg`` / ``sync_bn`` reach the runner's ``cfg``, not the user's config."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from mmssd.apis import load_config
from mmssd.apis.runner_factory import make_runner
from mmssd.engine import RunnerSetup, translate_test_config, translate_train_config
from mmssd.utils import register_all_modules

REPO = Path(__file__).resolve().parents[2]
DEMO_CONFIG = REPO / 'configs/demo/ssdlite_mobilenetv2_demo.py'


def demo_config(work_dir: Path) -> Config:
    """The demo config; the runner is only built here, so its data need not exist."""
    return load_config(str(DEMO_CONFIG), work_dir=str(work_dir))


def hook_types(runner: Runner) -> list[str]:
    return sorted(type(hook).__name__ for hook in runner.hooks)


def translated_hook_types(setup: RunnerSetup) -> list[str]:
    """The hooks of ``setup`` plus the one mmengine always adds (``RuntimeInfoHook``)."""
    args = setup.runner_args
    hooks = [*(h for h in args['default_hooks'].values() if h is not None),
             *args['custom_hooks']]
    return sorted([h['type'].split('.')[-1] for h in hooks] + ['RuntimeInfoHook'])


def test_training_runner_has_the_translated_hooks_and_cfg_keys(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """mmengine hands ``Runner.wrap_model`` the ``model_wrapper_cfg`` of the runner's
    ``cfg`` (not of its arguments): the one that ``cfg_keys`` put there."""
    register_all_modules()
    cfg = demo_config(tmp_path)
    loaded = cfg.to_dict()
    setup = translate_train_config(cfg)
    wrapper_cfgs = []
    wrap_model = Runner.wrap_model

    def spy(runner: Runner, model_wrapper_cfg: dict | None, model: Any) -> Any:
        wrapper_cfgs.append(model_wrapper_cfg)
        return wrap_model(runner, model_wrapper_cfg, model)

    monkeypatch.setattr(Runner, 'wrap_model', spy)
    runner = make_runner(setup, cfg)
    assert wrapper_cfgs == [setup.cfg_keys['model_wrapper_cfg']]
    assert hook_types(runner) == translated_hook_types(setup)
    assert 'CheckpointMatchHook' in hook_types(runner)
    for key, value in setup.cfg_keys.items():
        assert runner.cfg[key] == value, key
    assert cfg.to_dict() == loaded  # the keys went to a copy


def test_test_runner_has_the_show_and_checkpoint_hooks(tmp_path: Path):
    register_all_modules()
    cfg = demo_config(tmp_path)
    setup = translate_test_config(cfg, str(tmp_path / 'epoch_1.pth'),
                                  show_dir=str(tmp_path / 'show'))
    runner = make_runner(setup, cfg)
    # a test run names only timer and logger; mmengine fills in its other default hooks
    mmengine_defaults = ['CheckpointHook', 'DistSamplerSeedHook', 'ParamSchedulerHook']
    assert hook_types(runner) == sorted(translated_hook_types(setup) + mmengine_defaults)
    assert {'ShowResultsHook', 'CheckpointMatchHook'} <= set(hook_types(runner))
    assert runner.cfg.sync_bn == setup.cfg_keys['sync_bn']
