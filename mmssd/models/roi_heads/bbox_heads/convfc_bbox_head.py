"""mmdetection 2.x's ``ConvFCBBoxHead`` and its shared-branch variants.

Layout: RoI feature -> ``shared_convs`` -> ``shared_fcs`` -> (``cls_convs`` ->
``cls_fcs`` -> ``fc_cls``) and (``reg_convs`` -> ``reg_fcs`` -> ``fc_reg``)::

                                /-> cls convs -> cls fcs -> cls
    shared convs -> shared fcs
                                \\-> reg convs -> reg fcs -> reg
"""
from __future__ import annotations

from mmcv.cnn import ConvModule
from torch import Tensor, nn

from mmssd.registry import MODELS

from .bbox_head import BBoxHead


@MODELS.register_module()
class ConvFCBBoxHead(BBoxHead):
    """A :class:`BBoxHead` with shared and per-branch 3x3 convs and fully connected layers.

    Convs keep the ``h x w`` RoI grid (``conv_out_channels`` channels, ConvModule with
    ``conv_cfg`` / ``norm_cfg`` and ReLU); the feature is flattened (or averaged with
    ``with_avg_pool``) before the first fc; every fc (``fc_out_channels`` outputs) is
    followed by ReLU.

    Args:
        num_shared_convs, num_shared_fcs: layers shared by both branches.
        num_cls_convs, num_cls_fcs: layers of the classification branch.
        num_reg_convs, num_reg_fcs: layers of the regression branch.
        conv_out_channels: channels of every conv.
        fc_out_channels: outputs of every fc.
        conv_cfg, norm_cfg: ConvModule configs.
        init_cfg: default as :class:`BBoxHead`, plus Xavier-uniform ``shared_fcs``,
            ``cls_fcs`` and ``reg_fcs``.
        **kwargs: :class:`BBoxHead`'s arguments.

    Raises:
        ValueError: no layer at all, branch convs after shared fcs, or layers for a branch
            that is disabled (``with_cls`` / ``with_reg`` False).
    """

    def __init__(self, num_shared_convs: int = 0, num_shared_fcs: int = 0,
                 num_cls_convs: int = 0, num_cls_fcs: int = 0, num_reg_convs: int = 0,
                 num_reg_fcs: int = 0, conv_out_channels: int = 256,
                 fc_out_channels: int = 1024, conv_cfg: dict | None = None,
                 norm_cfg: dict | None = None, init_cfg: dict | list | None = None,
                 **kwargs) -> None:
        counts = {'num_shared_convs': num_shared_convs, 'num_shared_fcs': num_shared_fcs,
                  'num_cls_convs': num_cls_convs, 'num_cls_fcs': num_cls_fcs,
                  'num_reg_convs': num_reg_convs, 'num_reg_fcs': num_reg_fcs}
        negative = {k: v for k, v in counts.items() if v < 0}
        if negative:
            raise ValueError(f'ConvFCBBoxHead layer counts must be >= 0, got {negative}')
        if sum(counts.values()) == 0:
            raise ValueError(f'ConvFCBBoxHead needs at least one layer, got {counts}')
        if (num_cls_convs > 0 or num_reg_convs > 0) and num_shared_fcs > 0:
            raise ValueError('ConvFCBBoxHead: branch convs (num_cls_convs='
                             f'{num_cls_convs}, num_reg_convs={num_reg_convs}) cannot follow '
                             f'shared fcs (num_shared_fcs={num_shared_fcs})')
        if not kwargs.get('with_cls', True) and (num_cls_convs or num_cls_fcs):
            raise ValueError('ConvFCBBoxHead: with_cls=False but num_cls_convs / num_cls_fcs > 0')
        if not kwargs.get('with_reg', True) and (num_reg_convs or num_reg_fcs):
            raise ValueError('ConvFCBBoxHead: with_reg=False but num_reg_convs / num_reg_fcs > 0')
        # read by _init_layers, which BBoxHead.__init__ calls
        self.num_shared_convs, self.num_shared_fcs = num_shared_convs, num_shared_fcs
        self.num_cls_convs, self.num_cls_fcs = num_cls_convs, num_cls_fcs
        self.num_reg_convs, self.num_reg_fcs = num_reg_convs, num_reg_fcs
        self.conv_out_channels = conv_out_channels
        self.fc_out_channels = fc_out_channels
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        super().__init__(init_cfg=init_cfg, **kwargs)

    def _init_layers(self) -> None:
        self.shared_convs, self.shared_fcs, last_dim = self._add_conv_fc_branch(
            self.num_shared_convs, self.num_shared_fcs, self.in_channels, is_shared=True)
        self.shared_out_channels = last_dim
        self.cls_convs, self.cls_fcs, self.cls_last_dim = self._add_conv_fc_branch(
            self.num_cls_convs, self.num_cls_fcs, self.shared_out_channels)
        self.reg_convs, self.reg_fcs, self.reg_last_dim = self._add_conv_fc_branch(
            self.num_reg_convs, self.num_reg_fcs, self.shared_out_channels)
        if self.num_shared_fcs == 0 and not self.with_avg_pool:
            if self.num_cls_fcs == 0:
                self.cls_last_dim *= self.roi_feat_area
            if self.num_reg_fcs == 0:
                self.reg_last_dim *= self.roi_feat_area
        self.relu = nn.ReLU(inplace=True)
        self._init_predictors(self.cls_last_dim, self.reg_last_dim)

    def _add_conv_fc_branch(self, num_convs: int, num_fcs: int, in_channels: int,
                            is_shared: bool = False) -> tuple[nn.ModuleList, nn.ModuleList, int]:
        """``(convs, fcs, out_dim)`` of one branch whose input has ``in_channels``."""
        last_dim = in_channels
        convs = nn.ModuleList()
        for i in range(num_convs):
            convs.append(ConvModule(last_dim if i == 0 else self.conv_out_channels,
                                    self.conv_out_channels, 3, padding=1,
                                    conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg))
        if num_convs > 0:
            last_dim = self.conv_out_channels
        fcs = nn.ModuleList()
        if num_fcs > 0:
            # the first fc of the shared branch (or of a branch without shared fcs) reads
            # the flattened h x w grid
            if (is_shared or self.num_shared_fcs == 0) and not self.with_avg_pool:
                last_dim *= self.roi_feat_area
            for i in range(num_fcs):
                fcs.append(nn.Linear(last_dim if i == 0 else self.fc_out_channels,
                                     self.fc_out_channels))
            last_dim = self.fc_out_channels
        return convs, fcs, last_dim

    def _default_init_cfg(self) -> list[dict]:
        return super()._default_init_cfg() + [{
            'type': 'Xavier', 'distribution': 'uniform',
            'override': [{'name': 'shared_fcs'}, {'name': 'cls_fcs'}, {'name': 'reg_fcs'}]}]

    def _flatten(self, x: Tensor) -> Tensor:
        return x.mean(dim=(-1, -2)) if self.with_avg_pool else x.flatten(1)

    def forward(self, x: Tensor) -> tuple[Tensor | None, Tensor | None]:
        """RoI features ``(K, in_channels, h, w)`` -> ``(cls_score (K, C + 1),
        bbox_pred (K, 4 or 4C))``."""
        for conv in self.shared_convs:
            x = conv(x)
        if self.num_shared_fcs > 0:
            x = self._flatten(x)
            for fc in self.shared_fcs:
                x = self.relu(fc(x))
        x_cls, x_reg = x, x
        for conv in self.cls_convs:
            x_cls = conv(x_cls)
        if x_cls.dim() > 2:
            x_cls = self._flatten(x_cls)
        for fc in self.cls_fcs:
            x_cls = self.relu(fc(x_cls))
        for conv in self.reg_convs:
            x_reg = conv(x_reg)
        if x_reg.dim() > 2:
            x_reg = self._flatten(x_reg)
        for fc in self.reg_fcs:
            x_reg = self.relu(fc(x_reg))
        cls_score = self.fc_cls(x_cls) if self.with_cls else None
        bbox_pred = self.fc_reg(x_reg) if self.with_reg else None
        return cls_score, bbox_pred


@MODELS.register_module()
class Shared2FCBBoxHead(ConvFCBBoxHead):
    """Two shared fcs, no convs (Faster R-CNN's ``Shared2FCBBoxHead``)."""

    def __init__(self, fc_out_channels: int = 1024, **kwargs) -> None:
        super().__init__(num_shared_convs=0, num_shared_fcs=2, num_cls_convs=0, num_cls_fcs=0,
                         num_reg_convs=0, num_reg_fcs=0, fc_out_channels=fc_out_channels,
                         **kwargs)


@MODELS.register_module()
class Shared4Conv1FCBBoxHead(ConvFCBBoxHead):
    """Four shared 3x3 convs and one shared fc (``Shared4Conv1FCBBoxHead``)."""

    def __init__(self, fc_out_channels: int = 1024, **kwargs) -> None:
        super().__init__(num_shared_convs=4, num_shared_fcs=1, num_cls_convs=0, num_cls_fcs=0,
                         num_reg_convs=0, num_reg_fcs=0, fc_out_channels=fc_out_channels,
                         **kwargs)
