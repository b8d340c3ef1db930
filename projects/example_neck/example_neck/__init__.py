"""An out-of-tree mmssd extension: importing this package registers the ``BiFPN`` neck."""
from .bifpn import BiFPN

__all__ = ['BiFPN']
