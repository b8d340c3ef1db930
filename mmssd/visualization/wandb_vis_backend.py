"""mmengine's ``WandbVisBackend`` without its scan of the working directory for code."""
from __future__ import annotations

from mmengine.config import Config
from mmengine.visualization import WandbVisBackend as MMEngineWandbVisBackend
from mmengine.visualization.vis_backend import force_init_env

from mmssd.registry import VISBACKENDS


@VISBACKENDS.register_module()
class WandbVisBackend(MMEngineWandbVisBackend):
    """W&B backend: ``wandb.init(**init_kwargs)``, the config, scalars and images.

    mmengine's ``add_config`` also calls ``wandb.run.log_code()``, which copies every
    ``.py`` file below the working directory into a code artifact: from a repository
    root with a virtual environment inside, tens of thousands of files. Here the code is
    logged only when ``log_code_root`` names a folder.

    Args:
        save_dir: where ``wandb/`` (the run folder) is written, unless
            ``init_kwargs['dir']`` says otherwise.
        init_kwargs: ``wandb.init`` arguments (``project``, ``name``, ``tags``, ...).
        log_code_root: folder whose ``.py`` files are logged as the run's code; ``None``:
            no code.
        **kwargs: the other arguments of mmengine's ``WandbVisBackend``.
    """

    def __init__(self, save_dir: str, init_kwargs: dict | None = None,
                 log_code_root: str | None = None, **kwargs) -> None:
        super().__init__(save_dir, init_kwargs=init_kwargs, **kwargs)
        self._log_code_root = log_code_root

    @force_init_env
    def add_config(self, config: Config, **kwargs) -> None:
        """Record the config (a dict of the run's config file) in ``wandb.config``."""
        allow_val_change = (self._init_kwargs or {}).get('allow_val_change', False)
        self._wandb.config.update(config.to_dict(), allow_val_change=allow_val_change)
        if self._log_code_root is not None:
            self._wandb.run.log_code(root=self._log_code_root, name=self._log_code_name)
