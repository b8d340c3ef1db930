"""Drawing boxes and class names onto images."""
from .draw_boxes import draw_boxes, draw_result, label_rect, label_text
from .draw_comparison import GT_COLOUR, draw_gt_and_result
from .palette import class_palette

__all__ = ['GT_COLOUR', 'class_palette', 'draw_boxes', 'draw_gt_and_result', 'draw_result',
           'label_rect', 'label_text']
