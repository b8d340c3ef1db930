"""SwinTransformer: any input size, stochastic depth, activation checkpointing, freezing,
the transformer optimizer settings, and loading the official release by URL offline."""
from __future__ import annotations

import time
import urllib.error
import urllib.request

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from mmssd.engine.checkpoint import install_checkpointing
from mmssd.engine.checkpoint.pretrained_weights import (
    PretrainedWeightsNotFoundError,
    cached_checkpoint_path,
)
from mmssd.engine.config_translation.optim import translate_optimizer
from mmssd.registry import MODELS
from tests.helpers.tools import REPO

SWIN_T_URL = ('https://github.com/SwinTransformer/storage/releases/download/v1.0.0/'
              'swin_tiny_patch4_window7_224.pth')


def tiny_swin(**kwargs) -> torch.nn.Module:
    """Two stages of 24 and 48 channels, two blocks each (the second shifted)."""
    cfg = dict(type='SwinTransformer', embed_dims=24, depths=(2, 2), num_heads=(2, 4),
               strides=(4, 2), window_size=3, out_indices=(0, 1), drop_path_rate=0.)
    model = MODELS.build(dict(cfg, **kwargs))
    model.init_weights()
    return model


def test_any_input_size_pads_as_mmdetection():
    torch.manual_seed(0)
    model = tiny_swin().eval()
    with torch.no_grad():
        c1, c2 = model(torch.rand(1, 3, 45, 67))  # 12 x 17 tokens (padded to 12 x 18)
        assert c1.shape == (1, 24, 12, 17) and c2.shape == (1, 48, 6, 9)
        # the image padded by hand to whole patches gives the same stride-4 features
        padded = torch.nn.functional.pad(torch.rand(1, 3, 45, 67), (0, 1, 0, 3))
        assert model(padded)[0].shape == (1, 24, 12, 17)
    assert model.out_channels == (24, 48)


def test_drop_path_rates_rise_linearly_over_blocks():
    model = tiny_swin(depths=(2, 3), drop_path_rate=0.4)
    rates = [block.attn.drop.drop_prob for stage in model.stages for block in stage.blocks]
    assert rates == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    assert [block.ffn.dropout_layer.drop_prob for block in model.stages[1].blocks] == \
        pytest.approx([0.2, 0.3, 0.4])
    assert [block.attn.shift_size for block in model.stages[1].blocks] == [0, 1, 0]


def test_with_cp_gives_the_same_outputs_and_gradients(monkeypatch: pytest.MonkeyPatch):
    calls = []
    checkpoint = torch.utils.checkpoint.checkpoint
    monkeypatch.setattr(torch.utils.checkpoint, 'checkpoint',
                        lambda *args, **kwargs: calls.append(1) or checkpoint(*args, **kwargs))
    torch.manual_seed(0)
    plain = tiny_swin().train()
    checkpointed = tiny_swin(with_cp=True).train()
    checkpointed.load_state_dict(plain.state_dict())
    x = torch.rand(2, 3, 40, 52)
    results = []
    for model in (plain, checkpointed):
        outs = model(x)
        sum((o * torch.linspace(0, 1, o.numel()).view(o.shape)).sum() for o in outs).backward()
        results.append((outs, {n: p.grad for n, p in model.named_parameters()}))
    assert len(calls) == 4  # every block of the checkpointed model, none of the other
    for a, b in zip(results[0][0], results[1][0], strict=True):
        torch.testing.assert_close(a, b)
    for name, grad in results[0][1].items():
        torch.testing.assert_close(grad, results[1][1][name], msg=name)


def test_frozen_stages_get_no_gradient_and_stay_in_eval():
    model = tiny_swin(frozen_stages=1, drop_rate=0.1)
    model.train()
    frozen = [model.patch_embed, model.stages[0], model.norm0]
    assert all(not m.training for m in frozen) and model.stages[1].training
    sum(o.sum() for o in model(torch.rand(1, 3, 24, 24))).backward()
    assert all(p.grad is None and not p.requires_grad for m in frozen for p in m.parameters())
    assert all(p.grad is not None for p in model.stages[1].parameters())


def test_adamw_paramwise_cfg_of_the_shipped_config():
    """No weight decay on the relative-position tables and the norms (mmdetection's rule)."""
    cfg = Config.fromfile(str(REPO / 'configs/swin/cascade_rcnn_swin-t-p4-w7_fpn_1x_coco.py'))
    model = tiny_swin()
    names = {id(p): n for n, p in model.named_parameters()}
    wrapper = build_optim_wrapper(model, translate_optimizer(cfg))
    assert type(wrapper.optimizer).__name__ == 'AdamW'
    decay = {names[id(p)]: g['weight_decay'] for g in wrapper.param_groups
             for p in g['params'] if id(p) in names}
    assert len(decay) == len(names)
    assert decay['stages.0.blocks.0.attn.w_msa.relative_position_bias_table'] == 0
    assert decay['stages.0.downsample.norm.weight'] == 0 and decay['norm1.bias'] == 0
    assert decay['patch_embed.norm.weight'] == 0
    assert decay['stages.0.blocks.1.attn.w_msa.qkv.weight'] == 0.05
    assert decay['patch_embed.projection.weight'] == 0.05
    assert decay['stages.0.downsample.reduction.weight'] == 0.05


@pytest.fixture
def torch_home(tmp_path, monkeypatch: pytest.MonkeyPatch):
    """An empty ``TORCH_HOME`` without network: ``urlopen`` fails as offline."""
    install_checkpointing()
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setattr(torch.hub, '_hub_dir', None)

    def unreachable(url, *args, **kwargs):
        raise urllib.error.URLError(OSError(101, 'Network is unreachable'))

    monkeypatch.setattr(urllib.request, 'urlopen', unreachable)
    return tmp_path / 'torch_home'


def test_official_url_offline_names_url_and_cache_path(torch_home):
    model = tiny_swin(convert_weights=True, init_cfg=None)
    model.init_cfg = dict(type='Pretrained', checkpoint=SWIN_T_URL)
    start = time.perf_counter()
    with pytest.raises(PretrainedWeightsNotFoundError) as error:
        model.init_weights()
    assert time.perf_counter() - start < 30
    path = cached_checkpoint_path(SWIN_T_URL)
    assert path.is_relative_to(torch_home)
    assert SWIN_T_URL in str(error.value) and str(path) in str(error.value)


def official_index(m: int, channels: int) -> int:
    """Official Swin's position of mmssd's merged channel ``m = c * 4 + row * 2 + col``: the
    release concatenates ``[x[0::2, 0::2], x[1::2, 0::2], x[0::2, 1::2], x[1::2, 1::2]]``,
    so it is ``(row + 2 * col) * C + c``."""
    c, row, col = m // 4, (m % 4) // 2, m % 2
    return (row + 2 * col) * channels + c


def official_state_dict(ours: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """mmssd's Swin weights written in the official release's format (names, merging
    channel order, plus the keys the release has and mmssd ignores)."""
    official = {}
    for key, value in ours.items():
        if key.startswith('norm') or key.endswith('relative_position_index'):
            continue
        if 'downsample.' in key:
            channels = value.shape[-1] // 4
            order = torch.tensor([official_index(m, channels) for m in range(4 * channels)])
            moved = torch.empty_like(value)
            moved[..., order] = value
            value = moved
        key = (key.replace('stages.', 'layers.').replace('attn.w_msa.', 'attn.')
               .replace('ffn.layers.0.0.', 'mlp.fc1.').replace('ffn.layers.1.', 'mlp.fc2.')
               .replace('patch_embed.projection.', 'patch_embed.proj.'))
        official[key] = value
    last = [v for k, v in ours.items() if k.startswith('norm')][-1]
    official.update({'norm.weight': torch.ones_like(last), 'norm.bias': torch.zeros_like(last),
                     'head.weight': torch.zeros(10, last.numel()), 'head.bias': torch.zeros(10),
                     'layers.0.blocks.1.attn_mask': torch.zeros(4, 9, 9)})
    return official


def test_official_merging_order_is_converted():
    """The release's patch merging (concatenation, norm, reduction), written here, equals
    mmssd's with the converted weights."""
    from mmssd.models.layers import PatchMerging
    from mmssd.models.utils import swin_converter

    torch.manual_seed(0)
    merge = PatchMerging(5, 10, norm_cfg={'type': 'LN'})
    norm_w, norm_b, reduction = torch.randn(20), torch.randn(20), torch.randn(10, 20)
    converted = swin_converter({'layers.0.downsample.norm.weight': norm_w,
                                'layers.0.downsample.norm.bias': norm_b,
                                'layers.0.downsample.reduction.weight': reduction})
    merge.load_state_dict({k.split('downsample.')[1]: v for k, v in converted.items()})
    x = torch.randn(2, 4, 6, 5)
    cat = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]],
                    dim=-1).view(2, 6, 20)
    expected = torch.nn.functional.layer_norm(cat, (20,), norm_w, norm_b) @ reduction.T
    out, hw = merge(x.view(2, 24, 5), (4, 6))
    assert hw == (2, 3)
    torch.testing.assert_close(out, expected)


def test_official_file_in_the_cache_initialises_the_backbone(torch_home):
    """Round trip: random weights written in the official format into torch.hub's cache,
    read offline with ``convert_weights=True``; the outputs equal those of the same weights
    loaded directly."""
    torch.manual_seed(0)
    source = tiny_swin().eval()
    with torch.no_grad():
        for name, param in source.named_parameters():
            if not name.startswith('norm'):
                param.normal_(0, 0.3)
    path = cached_checkpoint_path(SWIN_T_URL)
    path.parent.mkdir(parents=True)
    torch.save({'model': official_state_dict(source.state_dict())}, path)
    model = tiny_swin(convert_weights=True,
                      init_cfg=dict(type='Pretrained', checkpoint=SWIN_T_URL)).eval()
    for name, value in source.state_dict().items():
        torch.testing.assert_close(model.state_dict()[name], value, rtol=0, atol=0, msg=name)
    x = torch.rand(1, 3, 30, 41)
    with torch.no_grad():
        for ours, theirs in zip(model(x), source(x), strict=True):
            torch.testing.assert_close(ours, theirs, rtol=0, atol=0)


def test_relative_tables_of_another_window_are_resized_other_heads_refused(tmp_path):
    install_checkpointing()
    source = tiny_swin(window_size=5).state_dict()
    path = tmp_path / 'swin_w5.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in source.items()}}, path)
    model = tiny_swin(window_size=3, init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    key = 'stages.1.blocks.0.attn.w_msa.qkv.weight'
    torch.testing.assert_close(model.state_dict()[key], source[key])
    assert model.stages[0].blocks[0].attn.w_msa.relative_position_bias_table.shape == (25, 2)
    torch.save({'state_dict': tiny_swin(num_heads=(3, 4)).state_dict()}, path)
    with pytest.raises(ValueError, match=r'swin_w5.pth.*relative_position_bias_table.*'
                                         r'3 heads.*the model 2'):
        tiny_swin(init_cfg=dict(type='Pretrained', checkpoint=str(path)))


def test_bfloat16_autocast_as_fp16_runs_it_on_cpu():
    """``fp16=dict(...)`` is bfloat16 autocast on a CPU: outputs near float32's, finite
    gradients (the shift mask is float32 and promotes, as in mmdetection)."""
    torch.manual_seed(0)
    model = tiny_swin().train()
    x = torch.rand(1, 3, 36, 36)
    reference = model(x)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        outs = model(x)
    sum(o.float().sum() for o in outs).backward()
    for ours, full in zip(outs, reference, strict=True):
        torch.testing.assert_close(ours.float(), full, rtol=0.1, atol=0.1)
    assert all(p.grad is not None and torch.isfinite(p.grad).all()
               for p in model.parameters())
