"""Train mode of backbones with ``frozen_stages`` and ``norm_eval`` (mmdetection semantics)."""
from __future__ import annotations

from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


class FrozenStagesMixin(nn.Module):
    """``train()`` that keeps the frozen stages frozen and, with ``norm_eval``, every
    BatchNorm's running statistics fixed (the usual setting when fine-tuning from
    pre-trained weights with small batches).

    Subclasses set ``self.norm_eval`` and implement :meth:`_freeze_stages`.
    """

    norm_eval: bool

    def _freeze_stages(self) -> None:
        """Put the frozen stages in eval mode and stop their parameters' gradients."""
        raise NotImplementedError

    def train(self, mode: bool = True) -> FrozenStagesMixin:
        """Switch mode, keeping frozen stages (and all BatchNorms with ``norm_eval``) in eval."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self
