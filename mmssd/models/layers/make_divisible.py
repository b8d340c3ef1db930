"""Round channel counts to a multiple of a divisor (MobileNet convention)."""
from __future__ import annotations


def make_divisible(value: float, divisor: int, min_value: int | None = None,
                   min_ratio: float = 0.9) -> int:
    """The multiple of ``divisor`` nearest ``value``, at least ``min_value`` (default
    ``divisor``) and not below ``min_ratio * value``."""
    if min_value is None:
        min_value = divisor
    new_value = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new_value < min_ratio * value:
        new_value += divisor
    return new_value
