"""Building blocks shared by backbones, necks and heads."""
from .inverted_residual import InvertedResidual
from .l2_norm import L2Norm
from .make_divisible import make_divisible

__all__ = ['InvertedResidual', 'L2Norm', 'make_divisible']
