"""2.x runtime keys -> mmengine Runner arguments."""
import ast
import inspect
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import PARAM_SCHEDULERS
from mmengine.runner import Runner

from mmssd.engine import (
    ConfigError,
    config_translation,
    translate_test_config,
    translate_train_config,
)
from mmssd.engine.config_translation.keys import check_top_level_keys
from mmssd.engine.config_translation.optim import translate_optimizer
from mmssd.engine.config_translation.schedule import (
    translate_lr_config,
    translate_momentum_config,
)
from mmssd.registry import METRICS

REPO = Path(__file__).resolve().parents[2]

# stepping schedulers without an optimizer step is what these curve tests do on purpose
pytestmark = pytest.mark.filterwarnings('ignore:Detected call of `scheduler.step')


def base_cfg(**overrides) -> Config:
    cfg = dict(
        work_dir='/tmp/w',
        model=dict(type='SingleStageDetector', backbone=dict(type='X')),
        data=dict(samples_per_gpu=8, workers_per_gpu=2,
                  train=dict(type='CocoDataset', ann_file='a.json', pipeline=[]),
                  val=dict(type='CocoDataset', ann_file='v.json', pipeline=[],
                           samples_per_gpu=4),
                  test=dict(type='CocoDataset', ann_file='t.json', pipeline=[])),
        optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4,
                       paramwise_cfg=dict(norm_decay_mult=0.)),
        optimizer_config=dict(grad_clip=dict(max_norm=35, norm_type=2)),
        lr_config=dict(policy='step', warmup='linear', warmup_iters=500, warmup_ratio=0.001,
                       step=[8, 11]),
        runner=dict(type='EpochBasedRunner', max_epochs=12),
        checkpoint_config=dict(interval=2, max_keep_ckpts=3),
        log_config=dict(interval=10, hooks=[dict(type='TextLoggerHook'),
                                            dict(type='TensorboardLoggerHook')]),
        evaluation=dict(interval=2, metric='bbox', classwise=True, save_best='auto'),
        custom_hooks=[dict(type='EMAHook')],
        load_from='init.pth',
    )
    cfg.update(overrides)
    return Config(cfg)


def test_dataloaders_from_data_dict():
    kwargs = translate_train_config(base_cfg()).runner_args
    train, val = kwargs['train_dataloader'], kwargs['val_dataloader']
    assert (train['batch_size'], train['num_workers']) == (8, 2)
    # mmdetection 2.x's aspect-ratio grouped sampler, full batches of samples_per_gpu
    assert train['sampler'] == dict(type='mmssd.GroupSampler', samples_per_gpu=8)
    assert train['collate_fn'] == dict(type='mmssd.detection_collate')
    assert val['batch_size'] == 4 and val['sampler']['shuffle'] is False
    assert 'samples_per_gpu' not in val['dataset']
    assert kwargs['test_dataloader']['batch_size'] == 1
    assert train['persistent_workers'] is True
    # page-locked batches exactly when this machine has a GPU to copy them to
    assert train['pin_memory'] is torch.cuda.is_available()


def test_dataloaders_do_not_pin_memory_without_a_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    loaders = translate_train_config(base_cfg()).runner_args
    assert all(loaders[f'{split}_dataloader']['pin_memory'] is False
               for split in ('train', 'val', 'test'))


def test_dataloader_settings_follow_workers_and_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    cfg = base_cfg()
    cfg.data.workers_per_gpu = 0
    cfg.data.train_dataloader = dict(prefetch_factor=None, pin_memory=False)
    train = translate_train_config(cfg).runner_args['train_dataloader']
    val = translate_train_config(cfg).runner_args['val_dataloader']
    assert train['persistent_workers'] is False  # no worker processes to keep
    assert train['pin_memory'] is False  # the per-split override wins
    assert val['pin_memory'] is True  # a GPU: page-locked batches
    assert train['prefetch_factor'] is None


def test_optimizer_and_clipping():
    wrapper = translate_train_config(base_cfg()).runner_args['optim_wrapper']
    assert wrapper == dict(type='OptimWrapper', paramwise_cfg=dict(norm_decay_mult=0.),
                           optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4),
                           clip_grad=dict(max_norm=35, norm_type=2))


def test_loops_evaluator_and_hooks():
    kwargs = translate_train_config(base_cfg()).runner_args
    assert kwargs['train_cfg'] == dict(type='EpochBasedTrainLoop', max_epochs=12,
                                       val_interval=2, val_begin=1)
    assert kwargs['val_evaluator'] == dict(type='CocoMetric', metric='bbox', classwise=True)
    hooks = kwargs['default_hooks']
    assert hooks['checkpoint'] == dict(type='LatestCheckpointHook', interval=2, max_keep_ckpts=3,
                                       by_epoch=True, save_best='auto')
    assert hooks['logger'] == dict(type='LoggerHook', interval=10)
    assert [h['type'] for h in kwargs['custom_hooks']][-2:] == ['EMAHook', 'CheckpointMatchHook']
    assert kwargs['custom_hooks'][-1] == dict(type='CheckpointMatchHook', mode='finetune',
                                              checkpoint='init.pth')
    backends = [b['type'] for b in kwargs['visualizer']['vis_backends']]
    assert backends == ['LocalVisBackend', 'TensorboardVisBackend']
    assert (kwargs['load_from'], kwargs['resume']) == ('init.pth', False)


def test_no_validate_drops_the_val_loop():
    kwargs = translate_train_config(base_cfg(), validate=False).runner_args
    assert 'val_dataloader' not in kwargs and 'val_evaluator' not in kwargs


def test_resume_from_and_iter_runner():
    cfg = base_cfg(resume_from='w/epoch_3.pth', runner=dict(type='IterBasedRunner', max_iters=90))
    kwargs = translate_train_config(cfg).runner_args
    assert (kwargs['load_from'], kwargs['resume']) == ('w/epoch_3.pth', True)
    assert kwargs['train_cfg'] == dict(type='IterBasedTrainLoop', max_iters=90, val_interval=2)
    assert kwargs['default_hooks']['checkpoint']['by_epoch'] is False


def test_test_config_uses_test_split_and_checkpoint():
    kwargs = translate_test_config(base_cfg(), 'w/latest.pth', dict(classwise=False)).runner_args
    assert kwargs['test_dataloader']['dataset']['ann_file'] == 't.json'
    assert kwargs['test_dataloader']['dataset']['test_mode'] is True
    [metric] = kwargs['test_evaluator']
    assert metric['classwise'] is False
    assert kwargs['load_from'] == 'w/latest.pth'


def test_setup_keeps_runner_arguments_and_cfg_keys_apart():
    """``runner_args`` holds only ``Runner`` parameters; what mmengine reads from the
    runner's ``cfg`` instead is ``cfg_keys``, and ``runner_cfg`` puts it on a copy."""
    parameters = set(inspect.signature(Runner).parameters)
    cfg = base_cfg(sync_bn='torch', launcher='pytorch')
    for setup in (translate_train_config(cfg), translate_test_config(cfg, 'w/latest.pth')):
        assert set(setup.runner_args) <= parameters, set(setup.runner_args) - parameters
        assert set(setup.cfg_keys) == {'model_wrapper_cfg', 'sync_bn'}
        runner_cfg = setup.runner_cfg(cfg)
        assert runner_cfg.model_wrapper_cfg == setup.cfg_keys['model_wrapper_cfg']
        assert 'model_wrapper_cfg' not in cfg and runner_cfg.model == cfg.model


@pytest.mark.parametrize('keys, mode, checkpoint', [
    (dict(), 'finetune', 'init.pth'),
    (dict(resume_from='w/epoch_3.pth'), 'resume', 'w/epoch_3.pth'),
    (dict(auto_resume=True, load_from=None), 'resume', None),
])
def test_loaded_checkpoint_is_checked_for_its_use(keys, mode, checkpoint):
    hooks = translate_train_config(base_cfg(**keys)).runner_args['custom_hooks']
    assert hooks[-1] == dict(type='CheckpointMatchHook', mode=mode, checkpoint=checkpoint)


def test_test_run_hooks_and_evaluators():
    cfg = base_cfg()
    args = translate_test_config(cfg, 'w/e.pth', show_dir='show', show_score_thr=0.5,
                                 show_gt=True).runner_args
    assert [h['type'] for h in args['custom_hooks']][-2:] == ['ShowResultsHook',
                                                              'CheckpointMatchHook']
    assert args['custom_hooks'][-2] == dict(type='ShowResultsHook', show_dir='show',
                                            score_thr=0.5, show_gt=True)
    assert args['custom_hooks'][-1] == dict(type='CheckpointMatchHook', mode='test',
                                            checkpoint='w/e.pth')
    assert [e['type'] for e in args['test_evaluator']] == ['CocoMetric']
    args = translate_test_config(cfg, 'w/e.pth', out='r.pkl').runner_args
    assert [e['type'] for e in args['test_evaluator']] == ['CocoMetric', 'mmssd.DumpResults']
    assert 'ShowResultsHook' not in [h['type'] for h in args['custom_hooks']]
    args = translate_test_config(cfg, 'w/e.pth', out='r.pkl', evaluate=False).runner_args
    assert args['test_evaluator'] == [dict(type='mmssd.DumpResults', out_file_path='r.pkl')]
    with pytest.raises(ValueError, match='nothing to do'):
        translate_test_config(cfg, 'w/e.pth', evaluate=False)


def test_package_exports_only_what_is_used_outside_it():
    """``config_translation/__init__.py`` exports exactly the names that code outside the
    package (mmssd, tools, benchmarks, projects) imports from it; tests of a step import
    the step's module."""
    used = set()
    for folder in ('mmssd', 'tools', 'benchmarks', 'projects'):
        for path in (REPO / folder).rglob('*.py'):
            if 'config_translation' in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and (
                        node.module == 'mmssd.engine.config_translation' or
                        (node.level == 1 and node.module == 'config_translation')):
                    used |= {alias.name for alias in node.names}
    assert sorted(config_translation.__all__) == sorted(used)


def test_voc_dataset_gets_voc_metric_with_2x_keys():
    cfg = base_cfg(evaluation=dict(interval=1, metric='mAP', iou_thr=[0.5, 0.75],
                                   save_best='auto'))
    voc = dict(type='VOCDataset', ann_file='VOC2007/test.txt', img_prefix='VOC2007/',
               pipeline=[])
    cfg.data.val = voc
    cfg.data.test = dict(type='RepeatDataset', times=1, dataset=dict(voc, type='mmssd.VOCDataset'))
    kwargs = translate_train_config(cfg).runner_args
    assert kwargs['val_evaluator'] == dict(type='VOCMetric', metric='mAP', iou_thr=[0.5, 0.75])
    assert kwargs['test_evaluator']['type'] == 'VOCMetric'  # through wrapper and scope
    metric = METRICS.build(kwargs['val_evaluator'])
    assert metric.iou_thrs == [0.5, 0.75] and metric.use_legacy_coordinate
    test = translate_test_config(cfg, 'w/latest.pth', dict(metric='mAP', eval_mode='area'))
    [metric] = test.runner_args['test_evaluator']
    assert METRICS.build(metric).eval_mode == 'area'


@pytest.mark.parametrize('bad, message', [
    (dict(runner=dict(type='EpochRunner', max_epochs=1)), "`runner.type` is 'EpochRunner'"),
    (dict(lr_config=dict(policy='stepp', step=[1])), "`lr_config.policy` is 'stepp'"),
    (dict(lr_config=dict(policy='step', step=[1], warmup_ratoi=0.1)), 'warmup_ratoi'),
    (dict(optimizer_config=dict(grad_clip=None, cumulative_iter=2)), 'cumulative_iter'),
    (dict(data=dict(train=dict())), 'data.samples_per_gpu'),
])
def test_bad_values_name_the_key(bad, message):
    with pytest.raises(ConfigError, match=message.replace('[', r'\[')):
        translate_train_config(base_cfg(**bad))


def lr_curve(lr_config: dict, max_epochs: int, iters_per_epoch: int, base_lr: float = 1.0):
    """Learning rate at every iteration under the translated mmengine schedulers."""
    cfg = base_cfg(lr_config=lr_config, runner=dict(type='EpochBasedRunner',
                                                    max_epochs=max_epochs))
    model = torch.nn.Linear(1, 1)
    wrapper = build_optim_wrapper(model, dict(optimizer=dict(type='SGD', lr=base_lr)))
    schedulers = []
    for sched in translate_lr_config(cfg):
        if sched.get('by_epoch'):
            sched = dict(sched, epoch_length=iters_per_epoch)
        schedulers.append(PARAM_SCHEDULERS.build(dict(sched, optimizer=wrapper)))
    lrs = []
    for _ in range(max_epochs):
        for _ in range(iters_per_epoch):
            lrs.append(wrapper.get_lr()['lr'][0])
            for s in schedulers:
                if not s.by_epoch:
                    s.step()
        for s in schedulers:
            if s.by_epoch:
                s.step()
    return lrs


def test_step_policy_with_linear_warmup_matches_mmcv_formula():
    """mmcv 1.x: lr = base * gamma^(#milestones passed) * warmup factor for i < warmup_iters,
    warmup factor = 1 - (1 - i / warmup_iters) * (1 - warmup_ratio)."""
    lrs = lr_curve(dict(policy='step', warmup='linear', warmup_iters=5, warmup_ratio=0.1,
                        step=[2, 3]), max_epochs=4, iters_per_epoch=4)
    for i, lr in enumerate(lrs):
        epoch = i // 4
        expected = 0.1 ** sum(epoch >= m for m in (2, 3))
        if i < 5:
            expected *= 1 - (1 - i / 5) * (1 - 0.1)
        assert lr == pytest.approx(expected), i


def test_constant_warmup_matches_mmcv():
    lrs = lr_curve(dict(policy='fixed', warmup='constant', warmup_iters=3, warmup_ratio=0.5),
                   max_epochs=2, iters_per_epoch=3)
    assert lrs == pytest.approx([0.5, 0.5, 0.5, 1, 1, 1])


def test_cosine_policy_by_epoch_matches_formula():
    import math
    lrs = lr_curve(dict(policy='CosineAnnealing', min_lr=0.01), max_epochs=5,
                   iters_per_epoch=2)
    for i, lr in enumerate(lrs):
        epoch = i // 2
        expected = 0.01 + (1 - 0.01) * (1 + math.cos(math.pi * epoch / 5)) / 2
        assert lr == pytest.approx(expected), i


@pytest.mark.parametrize('typo, meant', [('checkpoint_cfg', 'checkpoint_config'),
                                         ('optimiser', 'optimizer'),
                                         ('evalution', 'evaluation'),
                                         ('lr_cfg', 'lr_config'), ('Runner', 'runner')])
def test_misspelt_runtime_key_is_reported_with_a_suggestion(typo, meant):
    cfg = Config({typo: {}, 'data_root': 'data/', 'img_norm_cfg': {}, 'train_pipeline': [],
                  'dataset_type': 'CocoDataset', 'classes': ('a',), 'input_size': 300})
    with pytest.raises(ConfigError, match=f"'{typo}'; did you mean '{meant}'"):
        check_top_level_keys(cfg)


def test_top_level_compile_points_to_model_compile():
    with pytest.raises(ConfigError, match="set 'model.compile'"):
        check_top_level_keys(Config({'compile': True}))


def test_helper_variables_and_every_shipped_config_pass_the_key_check():
    import glob
    for path in glob.glob('configs/**/*.py', recursive=True):
        check_top_level_keys(Config.fromfile(path))


def test_momentum_config_becomes_momentum_schedulers():
    cfg = Config(dict(runner=dict(type='EpochBasedRunner', max_epochs=12),
                      momentum_config=dict(policy='step', step=[8, 11], gamma=0.5)))
    assert translate_momentum_config(cfg) == [dict(
        type='MultiStepMomentum', milestones=[8, 11], gamma=0.5, by_epoch=True, begin=0)]
    cfg.momentum_config = dict(policy='cyclic')
    with pytest.raises(ConfigError, match="`momentum_config.policy` is 'cyclic'"):
        translate_momentum_config(cfg)


def test_fp16_on_cpu_is_bfloat16_autocast():
    if torch.cuda.is_available():
        pytest.skip('the GPU path builds AmpOptimWrapper')
    cfg = Config(dict(optimizer=dict(type='SGD', lr=0.1), fp16=dict(loss_scale=512.)))
    wrapper = translate_optimizer(cfg)
    assert wrapper['type'] == 'mmssd.AutocastOptimWrapper' and wrapper['dtype'] == 'bfloat16'
    cfg.fp16 = dict(dtype='float16')
    with pytest.raises(ConfigError, match="`fp16.dtype` is 'float16'.*GPU"):
        translate_optimizer(cfg)


def test_sync_bn_goes_to_the_runner_with_gpus_and_to_the_wrapper_without(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    cpu = translate_train_config(base_cfg(sync_bn='torch', launcher='pytorch')).cfg_keys
    assert cpu['sync_bn'] is None and cpu['model_wrapper_cfg']['sync_bn'] is True
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    gpu = translate_train_config(base_cfg(sync_bn='torch', launcher='pytorch')).cfg_keys
    assert gpu['sync_bn'] == 'torch' and 'sync_bn' not in gpu['model_wrapper_cfg']
    assert translate_train_config(base_cfg()).cfg_keys['sync_bn'] is None
    with pytest.raises(ConfigError, match=r"`sync_bn` is 'yes'; expected 'torch'"):
        translate_train_config(base_cfg(sync_bn='yes'))
