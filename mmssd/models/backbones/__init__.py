"""Backbones (registered in ``MODELS``)."""
from .csp_darknet import CSPDarknet
from .mobilenet_v2 import MobileNetV2
from .resnet import ResNet
from .resnext import ResNeXt
from .ssd_vgg import SSDVGG
from .swin import SwinTransformer
from .timm_backbone import TIMMBackbone

__all__ = ['MobileNetV2', 'ResNet', 'ResNeXt', 'SSDVGG', 'SwinTransformer', 'TIMMBackbone',
           'CSPDarknet']
