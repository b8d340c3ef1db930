"""High-level entry points used by ``tools/``: train and evaluate from a 2.x config."""
from .config import load_config
from .evaluate import evaluate_detector
from .train import build_train_runner, train_detector

__all__ = ['build_train_runner', 'evaluate_detector', 'load_config', 'train_detector']
