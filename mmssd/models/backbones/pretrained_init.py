"""The backbones' ``pretrained`` / ``init_cfg`` arguments (mmdetection 2.x's two forms)."""
from __future__ import annotations


def backbone_init_cfg(pretrained: str | None, init_cfg: dict | list | None,
                      default: dict | list) -> dict | list:
    """The ``init_cfg`` a backbone gets from its (deprecated) ``pretrained`` and its
    ``init_cfg`` arguments, as in mmdetection 2.x.

    Args:
        pretrained: a checkpoint (path, URL, ``torchvision://...``) or None.
        init_cfg: the backbone's init config or None.
        default: the init config when neither is given.

    Raises:
        ValueError: both are given (the message names both and the fix).
        TypeError: ``pretrained`` is not a string.
    """
    if pretrained is None:
        return default if init_cfg is None else init_cfg
    if not isinstance(pretrained, str):
        raise TypeError(f'pretrained must be a checkpoint name (str) or None, got '
                        f'{pretrained!r}')
    if init_cfg is not None:
        raise ValueError(
            f'the backbone got pretrained={pretrained!r} and init_cfg={init_cfg!r}; give one, '
            "not both: init_cfg=dict(type='Pretrained', checkpoint=...) (pretrained is the "
            'deprecated form), or set the backbone\'s init_cfg=None where a base config '
            'names one and yours sets pretrained')
    return {'type': 'Pretrained', 'checkpoint': pretrained}

