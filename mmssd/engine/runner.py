"""mmengine's ``Runner`` with a truthful environment header and a quiet checkpoint load.

Both through public methods of mmengine's ``Runner``, so no private method is replaced:

* :meth:`DetRunner.build_logger` gives the run's logger a :class:`DeviceHeaderFilter`:
  mmengine writes its world size under the name ``GPU number``, so a CPU run read ``GPU
  number: 1`` next to ``CUDA available: False``; the header now says ``World size``,
  ``Device`` and the GPUs in use.
* :meth:`DetRunner.save_checkpoint` hides the deprecation notes of the unused
  ``FileClient`` mmengine's ``save_checkpoint`` builds
  (:data:`mmssd.utils.log_filters.FILE_CLIENT_NOTES`).
* :meth:`DetRunner.load_checkpoint` keeps mmengine's loader from printing ``Loads
  checkpoint by local backend from path: ...`` to stdout
  (:data:`mmssd.utils.log_filters.CHECKPOINT_LOADER_NOTE`); the runner logs ``Load
  checkpoint from ...`` once the weights are in.
* The run's ``cfg`` is a :class:`RunConfig`, which formats its text once: mmengine asks
  for ``cfg.pretty_text`` (formatted by yapf, 0.1-0.3 s for a detector's config) when the
  run starts, for the dumped config and again for every checkpoint's ``meta``.
"""
from __future__ import annotations

import logging
import re

from mmengine.config import Config
from mmengine.device import get_device
from mmengine.logging import MMLogger
from mmengine.runner import Runner

from mmssd.utils.log_filters import (
    CHECKPOINT_LOADER_NOTE,
    FILE_CLIENT_NOTES,
    hidden_log_messages,
    hidden_printed_lines,
)

#: The line of mmengine's environment header that holds the world size.
_GPU_NUMBER_LINE = re.compile(r'\n(\s+)GPU number: (\d+)')


def runtime_devices(world_size: int, device: str) -> dict[str, object]:
    """The header's process and device lines: ``World size`` (processes), ``Device`` and
    ``GPU number`` (GPUs in use: one per process on CUDA, none otherwise)."""
    return {'World size': world_size, 'Device': device,
            'GPU number': world_size if device == 'cuda' else 0}


class DeviceHeaderFilter(logging.Filter):
    """Rewrites the ``GPU number: N`` line of mmengine's ``Runtime environment`` header
    (``N`` is the world size there) into the lines of :func:`runtime_devices`; every
    other record passes unchanged."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if 'Runtime environment:' not in message:
            return True
        match = _GPU_NUMBER_LINE.search(message)
        if match is None:
            return True
        indent, world_size = match.group(1), int(match.group(2))
        lines = ''.join(f'\n{indent}{key}: {value}' for key, value in
                        runtime_devices(world_size, get_device()).items())
        record.msg, record.args = message[:match.start()] + lines + message[match.end():], ()
        return True


class RunConfig(Config):
    """mmengine's ``Config`` whose :attr:`pretty_text` is formatted once per content."""

    @classmethod
    def of(cls, cfg: Config) -> RunConfig:
        """A :class:`RunConfig` with the content, text and file name of ``cfg``."""
        return cls(cfg.to_dict(), cfg_text=cfg.text, filename=cfg.filename)

    @property
    def pretty_text(self) -> str:
        """``Config.pretty_text``, formatted again only after the content changed."""
        key = repr(self.to_dict())
        cached = self.__dict__.get('_pretty_text_of')
        if cached is None or cached[0] != key:
            cached = (key, super().pretty_text)
            object.__setattr__(self, '_pretty_text_of', cached)  # Config's setattr sets keys
        return cached[1]


class DetRunner(Runner):
    """mmengine's ``Runner`` (same arguments); see the module docstring for what differs."""

    def __init__(self, *args, cfg: Config | dict | None = None, **kwargs) -> None:
        if isinstance(cfg, Config):
            cfg = RunConfig.of(cfg)
        super().__init__(*args, cfg=cfg, **kwargs)

    def build_logger(self, *args, **kwargs) -> MMLogger:
        """mmengine's logger of the run, with :class:`DeviceHeaderFilter` (once)."""
        logger = super().build_logger(*args, **kwargs)
        if not any(isinstance(f, DeviceHeaderFilter) for f in logger.filters):
            logger.addFilter(DeviceHeaderFilter())
        return logger

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

    def load_checkpoint(self, filename: str, *args, **kwargs) -> dict:
        """mmengine's ``Runner.load_checkpoint`` (same arguments and hooks), without the
        loader's ``print`` of the path: the runner logs the path itself."""
        with hidden_printed_lines((CHECKPOINT_LOADER_NOTE,)):
            return super().load_checkpoint(filename, *args, **kwargs)
