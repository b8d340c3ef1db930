"""TwoStageDetector (Faster R-CNN) and the RPN detector: the three modes, prediction
format, channels_last, and overfitting a tiny batch."""
from __future__ import annotations

import ast
import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from test_channels_last import assert_same_detections  # same directory (on sys.path)

from mmssd.models.dense_heads import rpn_head as rpn_head_module
from mmssd.models.dense_heads.rpn_head import ProposalCfg
from mmssd.registry import MODELS
from mmssd.utils.config_error import ConfigError

DEMO = 'configs/demo/faster_rcnn_r18_fpn_demo.py'
DETECTORS = Path(__file__).parents[3] / 'mmssd' / 'models' / 'detectors'
SIZE = 96
NUM_CLASSES = 5


def demo_cfg(**overrides) -> dict:
    """The demo Faster R-CNN with a smaller ResNet (16 base channels)."""
    cfg = Config.fromfile(DEMO).model.to_dict()
    cfg['backbone']['base_channels'] = 16
    cfg['neck']['in_channels'] = [16, 32, 64, 128]
    return dict(cfg, **overrides)


def rpn_cfg() -> dict:
    """An RPN detector with the demo Faster R-CNN's parts."""
    cfg = demo_cfg()
    return dict(type='RPN', backbone=cfg['backbone'], neck=cfg['neck'],
                rpn_head=cfg['rpn_head'], train_cfg={'rpn': cfg['train_cfg']['rpn']},
                test_cfg={'rpn': cfg['test_cfg']['rpn']})


def build(cfg: dict) -> torch.nn.Module:
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


@pytest.fixture(scope='module')
def batch():
    g = torch.Generator().manual_seed(0)
    img = torch.rand(2, 3, SIZE, SIZE, generator=g) - 0.5
    img[0, :, 10:40, 20:70] += 1.5  # objects the model can see
    img[1, :, 40:90, 5:45] -= 1.5
    metas = [{'img_shape': (SIZE, SIZE - 16 * i, 3), 'ori_shape': (2 * SIZE, 2 * SIZE, 3),
              'pad_shape': (SIZE, SIZE, 3), 'batch_input_shape': (SIZE, SIZE),
              'scale_factor': np.full(4, 0.5, dtype=np.float32), 'img_id': i}
             for i in range(2)]
    gt_bboxes = [torch.tensor([[20., 10., 70., 40.]]), torch.tensor([[5., 40., 45., 90.]])]
    gt_labels = [torch.tensor([1]), torch.tensor([3])]
    return img, metas, gt_bboxes, gt_labels


def test_registered_names():
    assert issubclass(MODELS.get('FasterRCNN'), MODELS.get('TwoStageDetector'))
    assert MODELS.get('RPN') is not None


def test_predict_format_in_original_pixels(batch):
    img, metas, *_ = batch
    model = build(demo_cfg()).eval()
    results = model(img, metas, mode='predict')
    assert len(results) == 2
    for per_image in results:
        assert len(per_image) == NUM_CLASSES
        for dets in per_image:
            assert isinstance(dets, np.ndarray) and dets.dtype == np.float32
            assert dets.ndim == 2 and dets.shape[1] == 5
        all_dets = np.concatenate(per_image)
        assert len(all_dets) <= 100
        if len(all_dets):  # boxes in original pixels: img_shape / scale_factor
            assert all_dets[:, :4].min() >= 0 and all_dets[:, :4].max() <= 2 * SIZE


def test_test_time_augmentation(batch):
    """Proposals merged over augmentations, then the RoI head's boxes and scores averaged
    (tests/models/test_time_augs checks the merges): the same augmentation twice gives
    what it gives once (duplicate proposals are suppressed, the mean of equal boxes is
    the box); flips and a second scale give detections in original pixels."""
    img, metas, *_ = batch
    model = build(demo_cfg()).eval()
    plain = [dict(m, flip=False, flip_direction=None) for m in metas]
    once = model([img], [plain], mode='predict')
    twice = model([img, img], [plain, plain], mode='predict')
    assert sum(len(d) for d in once[0] + once[1]) > 0
    for per_image, per_image_twice in zip(once, twice, strict=True):
        for dets, dets_twice in zip(per_image, per_image_twice, strict=True):
            np.testing.assert_allclose(dets, dets_twice, rtol=1e-5, atol=1e-4)
    small = torch.nn.functional.interpolate(img, size=(64, 64), mode='bilinear')
    small_metas = [dict(m, img_shape=(64, 64 - 16 * i * 2 // 3, 3), pad_shape=(64, 64, 3),
                        scale_factor=np.full(4, 1 / 3, np.float32))
                   for i, m in enumerate(plain)]
    flipped = [dict(m, flip=True, flip_direction='horizontal') for m in plain]
    tta = model([img, img.flip(-1), small], [plain, flipped, small_metas], mode='predict')
    assert len(tta) == 2 and all(len(per_image) == NUM_CLASSES for per_image in tta)
    all_dets = np.concatenate([np.concatenate(per_image) for per_image in tta])
    assert 0 < len(all_dets) <= 200
    assert all_dets[:, :4].min() >= 0 and all_dets[:, :4].max() <= 2 * SIZE
    # the RPN detector merges proposals the same way
    rpn = build(rpn_cfg()).eval()
    proposals = rpn([img, img.flip(-1)], [plain, flipped], mode='predict')
    assert len(proposals) == 2
    for p in proposals:
        assert p.dtype == np.float32 and p.shape[1] == 5 and 0 < len(p) <= 100
        assert p[:, :4].min() >= 0 and p[:, :4].max() <= 2 * SIZE


def test_tensor_mode_is_the_dummy_forward(batch):
    img, metas, *_ = batch
    model = build(demo_cfg()).eval()
    with torch.no_grad():
        rpn_cls, rpn_reg, cls_score, bbox_pred = model(img, metas, mode='tensor')
    sizes = (24, 12, 6, 3, 2)  # strides 4 to 32, then FPN's stride-2 max pool of 3x3
    assert [tuple(s.shape) for s in rpn_cls] == [(2, 3, n, n) for n in sizes]
    assert [tuple(r.shape) for r in rpn_reg] == [(2, 12, n, n) for n in sizes]
    assert cls_score.shape == (2 * 1000, NUM_CLASSES + 1)
    assert bbox_pred.shape == (2 * 1000, 4 * NUM_CLASSES)


def test_proposal_settings_are_resolved_once_per_build(batch, monkeypatch):
    """``test_cfg.rpn`` and ``train_cfg.rpn_proposal`` are resolved once each, when the
    model is built (by its RPN head), and not again when it trains or tests; training
    makes its proposals with ``rpn_proposal``'s settings, testing with ``rpn``'s."""
    resolve, init = rpn_head_module.resolve_proposal_cfg, ProposalCfg.__init__
    resolved, made, used = [], [], []

    def counting_resolve(cfg, where='test_cfg'):
        resolved.append(copy.deepcopy(cfg))
        return resolve(cfg, where)

    def counting_init(self, *args, **kwargs):
        made.append(args or kwargs)
        init(self, *args, **kwargs)

    monkeypatch.setattr(rpn_head_module, 'resolve_proposal_cfg', counting_resolve)
    monkeypatch.setattr(ProposalCfg, '__init__', counting_init)
    cfg = demo_cfg()
    model = build(cfg)
    assert resolved == [cfg['test_cfg']['rpn'], cfg['train_cfg']['rpn_proposal']]
    assert len(made) == 2
    head = model.rpn_head
    assert (head.train_proposal_cfg.nms_pre, head.train_proposal_cfg.max_per_img) == (1000, 300)
    assert (head.test_proposal_cfg.nms_pre, head.test_proposal_cfg.max_per_img) == (500, 100)

    get_proposals = head.get_proposals

    def recording(*args, cfg=None, **kwargs):
        used.append(cfg)
        return get_proposals(*args, cfg=cfg, **kwargs)

    monkeypatch.setattr(head, 'get_proposals', recording)
    img, metas, gt_bboxes, gt_labels = batch
    model.train()(img, metas, gt_bboxes=gt_bboxes, gt_labels=gt_labels, mode='loss')
    model.eval()
    with torch.no_grad():
        model(img, metas, mode='predict')
        plain = [dict(m, flip=False, flip_direction=None) for m in metas]
        model([img, img], [plain, plain], mode='predict')
    assert used == [head.train_proposal_cfg, None, None, None]  # None: test_proposal_cfg
    assert len(resolved) == 2 and len(made) == 2


def test_old_proposal_keys_give_the_same_settings_and_warn_at_build():
    new = demo_cfg()
    old = demo_cfg()
    old['train_cfg']['rpn_proposal'] = dict(nms_pre=1000, max_num=300, nms_post=300,
                                            nms_thr=0.7, min_bbox_size=0)
    old['test_cfg']['rpn'] = dict(nms_pre=500, max_per_img=100, nms_thr=0.7,
                                  nms_across_levels=False, min_bbox_size=0)
    with pytest.warns(UserWarning, match='nms_thr') as caught:
        old_model = build(old)
    assert sum('nms_thr' in str(w.message) for w in caught) == 2  # once per config
    new_model = build(new)
    for name in ('train_proposal_cfg', 'test_proposal_cfg'):
        assert getattr(old_model.rpn_head, name) == getattr(new_model.rpn_head, name)
    without = demo_cfg()
    del without['train_cfg']['rpn_proposal'], without['test_cfg']['rpn']
    model = build(without)
    assert model.rpn_head.train_proposal_cfg is None
    with pytest.raises(ValueError, match='model.train_cfg.rpn_proposal or model.test_cfg.rpn'):
        model.loss(torch.zeros(1, 3, SIZE, SIZE), [{}], [torch.zeros(0, 4)],
                   [torch.zeros(0, dtype=torch.long)])


def test_detectors_call_no_private_method_of_another_object():
    """Detectors use the public contracts of their parts: a call ``obj._name(...)`` is
    allowed on ``self`` and ``super()`` only."""
    offenders = []
    for path in sorted(DETECTORS.glob('*.py')):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            name, owner = node.func.attr, node.func.value
            if not name.startswith('_') or name.startswith('__'):
                continue
            own = (isinstance(owner, ast.Name) and owner.id == 'self') or (
                isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name)
                and owner.func.id == 'super')
            if not own:
                offenders.append(f'{path.name}:{node.lineno}: {ast.unparse(node.func)}')
    assert not offenders, offenders


def test_loss_keys_and_overfitting(batch):
    img, metas, gt_bboxes, gt_labels = batch
    model = build(demo_cfg()).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3)
    history = []
    for _ in range(25):
        losses = model(img, metas, gt_bboxes=gt_bboxes, gt_labels=gt_labels, mode='loss')
        assert set(losses) == {'loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox', 'acc'}
        loss = sum(v for k, v in losses.items() if 'loss' in k)
        assert torch.isfinite(loss)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(loss.item())
    assert np.mean(history[-3:]) < 0.5 * np.mean(history[:3]), history


def test_channels_last_gives_the_same_detections(batch):
    img, metas, *_ = batch
    ref, nhwc = build(demo_cfg()), build(demo_cfg(channels_last=True))
    nhwc.load_state_dict(ref.state_dict())
    assert nhwc.backbone.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    assert_same_detections(ref, nhwc, img, metas, rtol=1e-3, atol=1e-3)


def test_misspelt_train_cfg_key_is_named():
    cfg = demo_cfg()
    cfg['train_cfg']['rpn_proposals'] = cfg['train_cfg'].pop('rpn_proposal')
    with pytest.raises(ConfigError,
                       match="`model.train_cfg.rpn_proposals`; did you mean 'rpn_proposal'"):
        MODELS.build(cfg)


@pytest.mark.parametrize('head,key,home', [('rpn_head', 'proposal_cfg', 'train_cfg.rpn_proposal'),
                                            ('rpn_head', 'train_cfg', 'train_cfg.rpn'),
                                            ('roi_head', 'test_cfg', 'test_cfg.rcnn')])
def test_a_setting_the_detector_overrides_is_refused_in_the_head(head, key, home):
    """A head's ``proposal_cfg`` / ``train_cfg`` / ``test_cfg`` comes from the model's
    sections; one written inside the head would be dropped without a word."""
    cfg = demo_cfg()
    cfg[head][key] = dict(nms_pre=10)
    with pytest.raises(ConfigError, match=f'model.{head}.{key}: .* move it to model.{home}'):
        MODELS.build(cfg)


def test_rpn_detector_losses_and_rescaled_proposals(batch):
    img, metas, gt_bboxes, _ = batch
    model = build(rpn_cfg())
    losses = model(img, metas, gt_bboxes=gt_bboxes, mode='loss')
    assert set(losses) == {'loss_rpn_cls', 'loss_rpn_bbox'}
    model.eval()
    proposals = model(img, metas, mode='predict')
    unscaled = model.simple_test(img, metas, rescale=False)
    assert len(proposals) == 2
    for props, raw, meta in zip(proposals, unscaled, metas, strict=True):
        assert isinstance(props, np.ndarray) and props.shape[1] == 5 and len(props) <= 100
        np.testing.assert_allclose(props[:, :4], raw[:, :4] / 0.5, rtol=1e-6)
        np.testing.assert_array_equal(props[:, 4], raw[:, 4])
        h, w = meta['img_shape'][:2]
        assert raw[:, 2].max() <= w and raw[:, 3].max() <= h
