"""Distinct colours, one per class."""
from __future__ import annotations

import colorsys


def class_palette(num_classes: int) -> list[tuple[int, int, int]]:
    """``num_classes`` well-separated BGR colours (uint8 ranges), stable across runs.

    Hues step by the golden ratio so neighbouring labels get far-apart colours; two
    saturation/value levels alternate so that many classes stay distinguishable.
    """
    colours = []
    for i in range(num_classes):
        hue = (i * 0.618033988749895) % 1.0
        sat, val = (0.85, 0.95) if i % 2 == 0 else (0.65, 0.75)
        r, g, b = colorsys.hsv_to_rgb(hue, sat, val)
        colours.append((int(b * 255), int(g * 255), int(r * 255)))
    return colours
