"""RoI feature extractors (registered in ``MODELS``)."""
from .single_level_roi_extractor import SingleRoIExtractor, build_roi_layer

__all__ = ['SingleRoIExtractor', 'build_roi_layer']
