"""Building blocks shared by backbones, necks and heads."""
from .csp_layer import CSPLayer, DarknetBottleneck
from .ema import ExpMomentumEMA, LinearMomentumEMA
from .integral import Integral
from .inverted_residual import InvertedResidual
from .l2_norm import L2Norm
from .make_divisible import make_divisible
from .patch_embed import PatchEmbed, PatchMerging
from .window_attention import ShiftWindowMSA, WindowMSA

__all__ = ['CSPLayer', 'DarknetBottleneck', 'ExpMomentumEMA', 'Integral', 'InvertedResidual',
           'L2Norm', 'LinearMomentumEMA', 'PatchEmbed', 'PatchMerging', 'ShiftWindowMSA',
           'WindowMSA', 'make_divisible']
