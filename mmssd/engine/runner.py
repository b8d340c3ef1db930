"""mmengine's ``Runner`` with a truthful environment header and a quiet checkpoint load.

* The header's ``Runtime environment`` says how many processes run (``World size``), on
  which device, and how many GPUs they use. mmengine writes its world size under the
  name ``GPU number``, so a CPU run read ``GPU number: 1`` next to ``CUDA available:
  False``.
* :meth:`DetRunner.save_checkpoint` hides the deprecation notes of the unused
  ``FileClient`` mmengine's ``save_checkpoint`` builds
  (:data:`mmssd.utils.log_filters.FILE_CLIENT_NOTES`).
* :meth:`DetRunner.load_checkpoint` does not ``print`` mmengine's ``Loads checkpoint by
  local backend from path: ...`` to stdout; the runner logs ``Load checkpoint from ...``
  once the weights are in.
"""
from __future__ import annotations

from collections import OrderedDict

from mmengine.device import get_device
from mmengine.logging import MMLogger
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint, _load_checkpoint_to_model
from mmengine.utils.dl_utils import collect_env

from mmssd.utils.log_filters import FILE_CLIENT_NOTES, hidden_log_messages


def runtime_devices(world_size: int, device: str) -> dict[str, object]:
    """The header's process and device lines: ``World size`` (processes), ``Device`` and
    ``GPU number`` (GPUs in use: one per process on CUDA, none otherwise)."""
    return {'World size': world_size, 'Device': device,
            'GPU number': world_size if device == 'cuda' else 0}


class DetRunner(Runner):
    """mmengine's ``Runner`` (same arguments); see the module docstring for what differs."""

    def _log_env(self, env_cfg: dict) -> None:
        """mmengine's environment header, with :func:`runtime_devices` in place of its
        ``GPU number`` (the world size)."""
        runtime_env: OrderedDict[str, object] = OrderedDict(env_cfg)
        runtime_env.update(self._randomness_cfg)
        runtime_env['seed'] = self._seed
        runtime_env['Distributed launcher'] = self._launcher
        runtime_env['Distributed training'] = self._distributed
        runtime_env.update(runtime_devices(self._world_size, get_device()))
        system = ''.join(f'\n    {k}: {v}' for k, v in collect_env().items())
        runtime = ''.join(f'\n    {k}: {v}' for k, v in runtime_env.items())
        dash_line = '-' * 60
        self.logger.info(f'\n{dash_line}\nSystem environment:{system}\n\n'
                         f'Runtime environment:{runtime}\n{dash_line}\n')
        if self.cfg._cfg_dict:
            self.logger.info(f'Config:\n{self.cfg.pretty_text}')

    def save_checkpoint(self, out_dir: str, filename: str,
                        file_client_args: dict | None = None, **kwargs) -> None:
        """mmengine's ``Runner.save_checkpoint`` (same arguments). Without
        ``file_client_args`` mmengine still builds a ``FileClient`` it does not use; its
        deprecation notes are hidden then, and only then."""
        if file_client_args is not None:
            super().save_checkpoint(out_dir, filename, file_client_args, **kwargs)
            return
        with hidden_log_messages(MMLogger.get_current_instance(), FILE_CLIENT_NOTES):
            super().save_checkpoint(out_dir, filename, **kwargs)

    def load_checkpoint(self, filename: str, map_location: str = 'cpu', strict: bool = False,
                        revise_keys: list | None = None) -> dict:
        """mmengine's ``Runner.load_checkpoint`` (same arguments and hooks), with the
        loader's ``print`` of the path silenced: the runner logs the path itself."""
        if revise_keys is None:
            revise_keys = [(r'^module.', '')]
        checkpoint = _load_checkpoint(filename, map_location=map_location, logger='silent')
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        model = self.model.module if is_model_wrapper(self.model) else self.model
        checkpoint = _load_checkpoint_to_model(model, checkpoint, strict,
                                               revise_keys=revise_keys)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint
