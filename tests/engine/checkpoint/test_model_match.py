"""A checkpoint that does not fit the model: refused with keys and shapes named (resume,
test), or named in a warning (fine-tuning with another class count)."""
from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
from mmengine.logging import MMLogger
from torch import nn

from mmssd.engine.checkpoint import (
    CheckpointMismatchError,
    check_checkpoint_fits,
    state_dict_differences,
)


def detector(num_classes: int) -> nn.Module:
    """A stand-in: a 'backbone' of 8 x 8 x 3 x 3 weights and a class-dependent 'head'."""
    return nn.Sequential(OrderedDict(backbone=nn.Conv2d(8, 8, 3),
                                     head=nn.Conv2d(8, num_classes + 1, 1)))


def test_differences_listed_with_shapes_and_the_fitting_fraction():
    state = detector(3).state_dict()
    state['module.extra'] = torch.zeros(2)  # 'module.' is stripped as mmengine does
    del state['backbone.bias']
    diff = state_dict_differences(detector(1), state)
    assert diff.mismatched == [('head.weight', (4, 8, 1, 1), (2, 8, 1, 1)),
                               ('head.bias', (4,), (2,))]
    assert diff.missing == ['backbone.bias'] and diff.unexpected == ['extra']
    assert diff.fitting_fraction == pytest.approx(8 * 8 * 9 / (8 * 8 * 9 + 8 + 16 + 2))
    assert diff.describe() == (
        '2 of another shape (head.weight (checkpoint 4x8x1x1, model 2x8x1x1), head.bias '
        '(checkpoint 4, model 2)); 1 missing from the checkpoint (backbone.bias); 1 not in '
        'the model (extra)')


def test_resume_refuses_any_difference():
    with pytest.raises(CheckpointMismatchError) as error:
        check_checkpoint_fits(detector(1), {'state_dict': detector(3).state_dict()},
                              'w/epoch_4.pth', 'resume')
    assert str(error.value) == (
        'cannot resume from w/epoch_4.pth: it is not a checkpoint of this model: 2 of '
        'another shape (head.weight (checkpoint 4x8x1x1, model 2x8x1x1), head.bias '
        '(checkpoint 4, model 2)). Resuming needs the same model (num_classes, layers); to '
        'start a new training from its weights, use load_from instead of resume_from')
    extra = dict(detector(1).state_dict(), ema=torch.zeros(1))
    with pytest.raises(CheckpointMismatchError, match=r'1 not in the model \(ema\)'):
        check_checkpoint_fits(detector(1), extra, 'x.pth', 'resume')


def test_test_refuses_missing_or_reshaped_but_not_extra_keys():
    with pytest.raises(CheckpointMismatchError) as error:
        check_checkpoint_fits(detector(1), detector(3).state_dict(), 'c.pth', 'test')
    assert str(error.value).startswith('checkpoint c.pth does not fit the model of this '
                                       'config: 2 of another shape (head.weight')
    extra = dict(detector(1).state_dict(), ema=torch.zeros(1))
    assert check_checkpoint_fits(detector(1), extra, 'c.pth', 'test').unexpected == ['ema']


def test_finetune_warns_on_another_class_count_and_refuses_another_model(capsys):
    MMLogger.get_instance('test_model_match')  # print_log(logger='current') needs one
    diff = check_checkpoint_fits(detector(1), detector(3).state_dict(), 'coco.pth',
                                 'finetune')
    assert [k for k, _, _ in diff.mismatched] == ['head.weight', 'head.bias']
    assert ('checkpoint coco.pth does not fit the model exactly; the layers named keep '
            'their initial weights: 2 of another shape (head.weight (checkpoint 4x8x1x1, '
            'model 2x8x1x1)') in capsys.readouterr().out
    other = nn.Sequential(OrderedDict(stem=nn.Conv2d(8, 8, 3), head=nn.Conv2d(8, 2, 1)))
    with pytest.raises(CheckpointMismatchError) as error:
        check_checkpoint_fits(detector(1), other.state_dict(), 'resnet.pth', 'finetune')
    assert str(error.value) == (
        "load_from=resnet.pth fills only 3% of the model's weights; it is a checkpoint of "
        'another model: 2 missing from the checkpoint (backbone.weight, backbone.bias); 2 '
        'not in the model (stem.weight, stem.bias)')
    with pytest.raises(ValueError, match="mode must be one of .*got 'train'"):
        check_checkpoint_fits(detector(1), other.state_dict(), 'r.pth', 'train')


def test_two_stage_checkpoint_fits_the_rpn_detector_as_it_loads():
    """A Faster R-CNN checkpoint keeps its RPN at ``rpn_head.*``; the RPN detector renames
    those keys when loading (``upgrade_state_dict``), and the check sees the same keys:
    it passes for testing and names the RPN weights when they are absent."""
    from mmengine.config import Config

    from mmssd.registry import MODELS
    from mmssd.utils import register_all_modules
    register_all_modules()
    faster = MODELS.build(Config.fromfile('configs/demo/faster_rcnn_r18_fpn_demo.py').model)
    rpn = MODELS.build(Config.fromfile('configs/demo/rpn_r18_fpn_demo.py').model)
    state = faster.state_dict()
    diff = check_checkpoint_fits(rpn, {'state_dict': dict(state)}, 'frcnn.pth', 'test')
    assert not diff.missing and not diff.mismatched
    assert all(k.startswith('roi_head.') for k in diff.unexpected)
    rpn.load_state_dict(dict(state), strict=False)  # loading renames the same way
    torch.testing.assert_close(rpn.bbox_head.rpn_cls.weight, faster.rpn_head.rpn_cls.weight)
    no_rpn = {k: v for k, v in state.items() if not k.startswith('rpn_head.')}
    with pytest.raises(CheckpointMismatchError, match=r'missing from the checkpoint \('
                                                      r'bbox_head\.rpn_conv\.weight'):
        check_checkpoint_fits(rpn, {'state_dict': no_rpn}, 'frcnn.pth', 'test')
