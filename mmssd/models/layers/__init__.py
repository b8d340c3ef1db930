"""Building blocks shared by backbones, necks and heads."""
from .ema import ExpMomentumEMA, LinearMomentumEMA
from .inverted_residual import InvertedResidual
from .l2_norm import L2Norm
from .make_divisible import make_divisible

__all__ = ['ExpMomentumEMA', 'InvertedResidual', 'L2Norm', 'LinearMomentumEMA',
           'make_divisible']
