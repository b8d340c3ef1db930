"""``Compose``: run a list of transforms in order, stopping at the first ``None``."""
from __future__ import annotations

from collections.abc import Callable, Sequence

from mmssd.registry import TRANSFORMS


@TRANSFORMS.register_module()
class Compose:
    """Compose transforms (config dicts built from ``TRANSFORMS``, or callables).

    After building, each transform with a ``bind_next(next_transform)`` method is told
    which transform follows it (``None`` for the last), e.g. ``Expand`` hands a lazy
    canvas to a following crop.

    Args:
        transforms: the transforms, applied in order.
    """

    def __init__(self, transforms: Sequence[dict | Callable]):
        self.transforms: list[Callable] = []
        for i, transform in enumerate(transforms):
            if isinstance(transform, dict):
                transform = TRANSFORMS.build(transform)
            elif not callable(transform):
                raise TypeError(f'pipeline[{i}] must be a config dict or a callable; '
                                f'got {type(transform).__name__}: {transform!r}')
            self.transforms.append(transform)
        for transform, next_transform in zip(self.transforms, [*self.transforms[1:], None]):
            bind_next = getattr(transform, 'bind_next', None)
            if callable(bind_next):
                bind_next(next_transform)

    def __call__(self, data: dict) -> dict | None:
        """Apply every transform; a transform returning ``None`` drops the sample."""
        for t in self.transforms:
            data = t(data)
            if data is None:
                return None
        return data

    def __repr__(self) -> str:
        inner = ''.join(f'\n    {t}' for t in self.transforms)
        return f'{self.__class__.__name__}({inner}\n)'
