"""Helpers of the models: NMS, result formatting, RoIs, padding, cross-process means,
config key checks."""
from .bbox2result import bbox2result
from .bbox_roi import bbox2roi, roi2bbox
from .cfg_keys import check_cfg_keys
from .ckpt_convert import adapt_swin_state_dict, swin_converter
from .multiclass_nms import multiclass_nms
from .padding import pad_instances
from .reduce_mean import reduce_mean
from .scale_factors import BatchImgShapes, img_shapes_tensor, scale_factors_tensor

__all__ = ['BatchImgShapes', 'adapt_swin_state_dict', 'bbox2result', 'bbox2roi',
           'check_cfg_keys', 'img_shapes_tensor', 'multiclass_nms', 'pad_instances',
           'reduce_mean', 'roi2bbox', 'scale_factors_tensor', 'swin_converter']
