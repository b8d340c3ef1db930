"""Backbones (registered in ``MODELS``)."""
from .mobilenet_v2 import MobileNetV2
from .resnet import ResNet
from .ssd_vgg import SSDVGG

__all__ = ['MobileNetV2', 'ResNet', 'SSDVGG']
