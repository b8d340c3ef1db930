"""mmssd: SSD object detection in the mmdetection 2.x config vocabulary, on mmengine."""
from .version import __version__

__all__ = ['__version__']
