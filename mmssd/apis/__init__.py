"""High-level entry points used by ``tools/``: train and evaluate from a 2.x config."""
from .config import load_config
from .evaluate import evaluate_detector
from .inference import inference_detector, init_detector, init_onnx_detector
from .show_result import show_result_pyplot
from .sliced_inference import inference_detector_sliced
from .train import build_train_runner, train_detector

__all__ = ['build_train_runner', 'evaluate_detector', 'inference_detector',
           'inference_detector_sliced', 'init_detector', 'init_onnx_detector', 'load_config',
           'show_result_pyplot', 'train_detector']
