"""Drawing boxes and class names onto images."""
from .draw_boxes import draw_boxes, draw_result
from .palette import class_palette

__all__ = ['class_palette', 'draw_boxes', 'draw_result']
