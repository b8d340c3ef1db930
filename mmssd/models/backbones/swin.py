"""Swin Transformer backbone with mmdetection's arguments and state-dict names
(``patch_embed.projection``, ``stages.N.blocks.M.attn.w_msa.*``, ``ffn.layers``,
``stages.N.downsample.{norm,reduction}``, ``normN``)."""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmcv.cnn.bricks.drop import DropPath
from mmengine.logging import print_log
from mmengine.model import BaseModule, ModuleList
from mmengine.model.weight_init import constant_init, trunc_normal_, trunc_normal_init
from mmengine.runner.checkpoint import CheckpointLoader, load_state_dict
from torch import Tensor, nn

from mmssd.registry import MODELS

from ..layers import PatchEmbed, PatchMerging, ShiftWindowMSA
from ..utils.ckpt_convert import adapt_swin_state_dict, swin_converter
from .frozen_stages import FrozenStagesMixin
from .pretrained_init import backbone_init_cfg


class FFN(BaseModule):
    """Swin's MLP with mmcv's ``FFN`` names: ``layers.0.0`` (fc1), activation, dropout,
    ``layers.1`` (fc2), dropout; ``identity + drop_path(out)``. ``(B, L, C) -> (B, L, C)``."""

    def __init__(self, embed_dims: int, feedforward_channels: int, act_cfg: dict,
                 ffn_drop: float = 0., drop_path_rate: float = 0.) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Sequential(nn.Linear(embed_dims, feedforward_channels),
                          build_activation_layer(act_cfg), nn.Dropout(ffn_drop)),
            nn.Linear(feedforward_channels, embed_dims), nn.Dropout(ffn_drop))
        self.dropout_layer = DropPath(drop_path_rate)

    def forward(self, x: Tensor, identity: Tensor) -> Tensor:
        return identity + self.dropout_layer(self.layers(x))


class SwinBlock(BaseModule):
    """``x + attn(norm1(x))``, then ``x + ffn(norm2(x))``; ``shift`` shifts the windows by
    ``window_size // 2``; ``with_cp`` recomputes the block in the backward pass
    (``torch.utils.checkpoint``). ``(B, H*W, C)`` -> ``(B, H*W, C)``."""

    def __init__(self, embed_dims: int, num_heads: int, feedforward_channels: int,
                 window_size: int = 7, shift: bool = False, qkv_bias: bool = True,
                 qk_scale: float | None = None, drop_rate: float = 0.,
                 attn_drop_rate: float = 0., drop_path_rate: float = 0.,
                 act_cfg: dict | None = None, norm_cfg: dict | None = None,
                 with_cp: bool = False) -> None:
        super().__init__()
        norm_cfg = norm_cfg or {'type': 'LN'}
        self.with_cp = with_cp
        self.norm1 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.attn = ShiftWindowMSA(embed_dims, num_heads, window_size,
                                   window_size // 2 if shift else 0, qkv_bias, qk_scale,
                                   attn_drop_rate, drop_rate, drop_path_rate)
        self.norm2 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.ffn = FFN(embed_dims, feedforward_channels, act_cfg or {'type': 'GELU'},
                       drop_rate, drop_path_rate)

    def _inner_forward(self, x: Tensor, hw_shape: tuple[int, int]) -> Tensor:
        x = x + self.attn(self.norm1(x), hw_shape)
        return self.ffn(self.norm2(x), identity=x)

    def forward(self, x: Tensor, hw_shape: tuple[int, int]) -> Tensor:
        if self.with_cp and x.requires_grad:
            return cp.checkpoint(self._inner_forward, x, hw_shape, use_reentrant=False)
        return self._inner_forward(x, hw_shape)


class SwinBlockSequence(BaseModule):
    """One stage: ``depth`` blocks (every second one shifted), then ``downsample``.
    Returns ``(x_down, down_hw_shape, x, hw_shape)``: the next stage's input and this
    stage's output before the merging."""

    def __init__(self, embed_dims: int, num_heads: int, feedforward_channels: int,
                 depth: int, window_size: int, qkv_bias: bool, qk_scale: float | None,
                 drop_rate: float, attn_drop_rate: float, drop_path_rates: Sequence[float],
                 downsample: nn.Module | None, act_cfg: dict, norm_cfg: dict,
                 with_cp: bool) -> None:
        super().__init__()
        self.blocks = ModuleList([
            SwinBlock(embed_dims, num_heads, feedforward_channels, window_size, i % 2 == 1,
                      qkv_bias, qk_scale, drop_rate, attn_drop_rate, drop_path_rates[i],
                      act_cfg, norm_cfg, with_cp) for i in range(depth)])
        self.downsample = downsample

    def forward(self, x: Tensor, hw_shape: tuple[int, int]
                ) -> tuple[Tensor, tuple[int, int], Tensor, tuple[int, int]]:
        for block in self.blocks:
            x = block(x, hw_shape)
        if self.downsample is None:
            return x, hw_shape, x, hw_shape
        x_down, down_hw_shape = self.downsample(x, hw_shape)
        return x_down, down_hw_shape, x, hw_shape


@MODELS.register_module()
class SwinTransformer(FrozenStagesMixin, BaseModule):
    """Swin Transformer (Liu et al., ICCV 2021), mmdetection's ``SwinTransformer``.

    ``forward`` maps ``(B, in_channels, H, W)`` (any size: padded right/bottom to the patch
    and window sizes, as mmdetection) to a tuple over ``out_indices`` of
    ``(B, embed_dims * 2**i, ceil(H / 2**(i + 2)), ceil(W / 2**(i + 2)))``; Swin-T
    (``embed_dims=96``) gives 96, 192, 384, 768 channels at strides 4, 8, 16, 32.

    Args:
        pretrain_img_size: image size of the pre-training (sizes ``absolute_pos_embed``).
        in_channels: input channels.
        embed_dims: channels of the first stage (doubled by each patch merging).
        patch_size: side of the patch embedding (``strides[0]``).
        window_size: attention window side.
        mlp_ratio: hidden channels of the MLP over the embedding channels.
        depths: blocks per stage; num_heads: attention heads per stage.
        strides: patch size, then the merging strides (2 each).
        out_indices: stages returned, each through its own ``norm{i}``.
        qkv_bias, qk_scale: attention projection bias and logit scale.
        patch_norm: LayerNorm after the patch embedding and in each merging.
        drop_rate, attn_drop_rate: dropout after projections / on attention weights.
        drop_path_rate: stochastic depth, rising linearly from 0 over all blocks.
        use_abs_pos_embed: add a learnt absolute position embedding (resized bicubically
            to the input's token grid).
        act_cfg, norm_cfg: activation (GELU) and norm (LN) configs.
        with_cp: activation checkpointing in every block (less memory, more compute).
        convert_weights: a ``Pretrained`` checkpoint is in the official Swin release's
            format (``layers.N.blocks.M.attn.qkv``, ``mlp.fc1``, ``patch_embed.proj``; see
            :func:`~mmssd.models.utils.ckpt_convert.swin_converter`).
        frozen_stages: freeze the patch embedding and stages ``1..frozen_stages``, with
            their output norms (-1: none).
        pretrained: deprecated checkpoint name; use ``init_cfg``.
        init_cfg: ``dict(type='Pretrained', checkpoint=...)`` loads a checkpoint through
            mmengine's ``CheckpointLoader`` (mmssd's offline-safe, weights-only loaders once
            the entry points installed them); relative-position tables of another window
            size are resized bicubically as in mmdetection. Otherwise truncated-normal
            linears and unit LayerNorms.
    """

    def __init__(self, pretrain_img_size: int | tuple[int, int] = 224, in_channels: int = 3,
                 embed_dims: int = 96, patch_size: int = 4, window_size: int = 7,
                 mlp_ratio: float = 4, depths: Sequence[int] = (2, 2, 6, 2),
                 num_heads: Sequence[int] = (3, 6, 12, 24),
                 strides: Sequence[int] = (4, 2, 2, 2),
                 out_indices: Sequence[int] = (0, 1, 2, 3), qkv_bias: bool = True,
                 qk_scale: float | None = None, patch_norm: bool = True,
                 drop_rate: float = 0., attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.1, use_abs_pos_embed: bool = False,
                 act_cfg: dict | None = None, norm_cfg: dict | None = None,
                 with_cp: bool = False, pretrained: str | None = None,
                 convert_weights: bool = False, frozen_stages: int = -1,
                 init_cfg: dict | None = None) -> None:
        super().__init__(backbone_init_cfg(pretrained, init_cfg, default=None))
        num_stages = len(depths)
        if len(num_heads) != num_stages or len(strides) != num_stages:
            raise ValueError(f'depths {tuple(depths)}, num_heads {tuple(num_heads)} and '
                             f'strides {tuple(strides)} must have one entry per stage')
        if strides[0] != patch_size or any(s != 2 for s in strides[1:]):
            raise ValueError(f'strides must be (patch_size={patch_size}, 2, 2, ...), got '
                             f'{tuple(strides)}')
        if not out_indices or not set(out_indices) <= set(range(num_stages)):
            raise ValueError(f'out_indices {tuple(out_indices)} must index the {num_stages} '
                             'stages')
        if frozen_stages not in range(-1, num_stages + 1):
            raise ValueError(f'frozen_stages must be in range(-1, {num_stages + 1}), got '
                             f'{frozen_stages}')
        norm_cfg = norm_cfg or {'type': 'LN'}
        act_cfg = act_cfg or {'type': 'GELU'}
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.convert_weights = convert_weights
        self.use_abs_pos_embed = use_abs_pos_embed
        self.norm_eval = False  # no BatchNorm; FrozenStagesMixin's switch

        self.patch_embed = PatchEmbed(in_channels, embed_dims, patch_size,
                                      norm_cfg if patch_norm else None)
        if use_abs_pos_embed:
            size = ((pretrain_img_size, pretrain_img_size) if isinstance(pretrain_img_size, int)
                    else tuple(pretrain_img_size))
            self.absolute_pos_embed = nn.Parameter(torch.zeros(
                1, size[0] // patch_size, size[1] // patch_size, embed_dims))
        self.drop_after_pos = nn.Dropout(drop_rate)

        rates = torch.linspace(0, drop_path_rate, sum(depths)).tolist()
        self.stages = ModuleList()
        channels = embed_dims
        for i, depth in enumerate(depths):
            downsample = (PatchMerging(channels, 2 * channels, norm_cfg if patch_norm else None)
                          if i < num_stages - 1 else None)
            self.stages.append(SwinBlockSequence(
                channels, num_heads[i], int(mlp_ratio * channels), depth, window_size,
                qkv_bias, qk_scale, drop_rate, attn_drop_rate,
                rates[sum(depths[:i]):sum(depths[:i + 1])], downsample, act_cfg, norm_cfg,
                with_cp))
            if downsample is not None:
                channels = downsample.out_channels
        self.num_features = [embed_dims * 2**i for i in range(num_stages)]
        self.out_channels = tuple(self.num_features[i] for i in self.out_indices)
        for i in self.out_indices:
            self.add_module(f'norm{i}', build_norm_layer(norm_cfg, self.num_features[i])[1])
        self._freeze_stages()

    def _freeze_stages(self) -> None:
        frozen: list[nn.Module] = []
        if self.frozen_stages >= 0:
            frozen += [self.patch_embed, self.drop_after_pos]
            if self.use_abs_pos_embed:
                self.absolute_pos_embed.requires_grad = False
        for i in range(self.frozen_stages):
            frozen.append(self.stages[i])
            if i in self.out_indices:
                frozen.append(getattr(self, f'norm{i}'))
        for module in frozen:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def init_weights(self) -> None:
        """Truncated-normal init, or the ``Pretrained`` checkpoint of ``init_cfg``
        (converted from the official format with ``convert_weights``)."""
        if not (isinstance(self.init_cfg, dict) and self.init_cfg.get('type') == 'Pretrained'):
            if self.use_abs_pos_embed:
                trunc_normal_(self.absolute_pos_embed, std=0.02)
            for module in self.modules():
                if isinstance(module, nn.Linear):
                    trunc_normal_init(module, std=.02, bias=0.)
                elif isinstance(module, nn.LayerNorm):
                    constant_init(module, 1.0)
                elif hasattr(module, 'relative_position_bias_table'):
                    module.init_weights()
            self._is_init = True
            return
        name = self.init_cfg['checkpoint']
        checkpoint = CheckpointLoader.load_checkpoint(name, map_location='cpu')
        state_dict = checkpoint
        for key in ('state_dict', 'model'):
            if isinstance(checkpoint, dict) and key in checkpoint:
                state_dict = checkpoint[key]
                break
        if self.convert_weights:
            state_dict = swin_converter(state_dict)
        state_dict = adapt_swin_state_dict(state_dict, self.state_dict(), name)
        print_log(f'SwinTransformer: loading {name}', logger='current')
        load_state_dict(self, state_dict, strict=False, logger='current')
        self._is_init = True

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        """``(B, C, H, W)`` -> the ``out_indices`` stage outputs (see the class doc)."""
        x, hw_shape = self.patch_embed(x)
        if self.use_abs_pos_embed:
            pos = self.absolute_pos_embed
            if tuple(pos.shape[1:3]) != hw_shape:
                pos = F.interpolate(pos.permute(0, 3, 1, 2), size=hw_shape, mode='bicubic',
                                    align_corners=False).permute(0, 2, 3, 1)
            x = x + pos.flatten(1, 2)
        x = self.drop_after_pos(x)
        outs = []
        for i, stage in enumerate(self.stages):
            x, hw_shape, out, out_hw_shape = stage(x, hw_shape)
            if i in self.out_indices:
                out = getattr(self, f'norm{i}')(out)
                outs.append(out.view(-1, *out_hw_shape, self.num_features[i])
                            .permute(0, 3, 1, 2).contiguous())
        return tuple(outs)
