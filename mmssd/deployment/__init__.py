"""Export detectors to ONNX: the exported network with box decoding, and its NMS post-step."""
from .onnx_postprocess import postprocess_detections
from .ssd_onnx_model import SSDOnnxModel

__all__ = ['SSDOnnxModel', 'postprocess_detections']
