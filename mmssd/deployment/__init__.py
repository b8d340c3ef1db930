"""Export detectors to ONNX (NMS and RoI extraction in the graph, standard operators only)
and run the exported files with onnxruntime."""
from .onnx_models import DenseOnnxModel, ExportError, TwoStageOnnxModel, build_onnx_model
from .onnx_nms import multiclass_nms_padded
from .ort_detector import ONNXRuntimeDetector, ONNXRuntimeModel

__all__ = ['DenseOnnxModel', 'ExportError', 'ONNXRuntimeDetector', 'ONNXRuntimeModel',
           'TwoStageOnnxModel', 'build_onnx_model', 'multiclass_nms_padded']
