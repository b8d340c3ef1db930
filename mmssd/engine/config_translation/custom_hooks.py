"""``custom_hooks`` entries in mmdetection 2.x's vocabulary -> mmengine hooks.

- ``EMAHook(momentum=0.0002, interval=1, warm_up=100, resume_from=None)`` (mmcv 1.x) and
  ``LinearMomentumEMAHook(momentum=0.001, warm_up=100, interval=1, skip_buffers=False)``
  -> mmengine's ``EMAHook`` averaging with :class:`~mmssd.models.layers.LinearMomentumEMA`
  (momentum ``momentum ** interval`` per update, as they compute it).
- ``ExpMomentumEMAHook(momentum=0.0002, total_iter=2000, interval=1, skip_buffers=False)``
  -> ``EMAHook`` with :class:`~mmssd.models.layers.ExpMomentumEMA` (``gamma=total_iter``).
- An ``EMAHook`` with mmengine's own keys (``ema_type``, ``update_buffers``, ...) is kept.
- ``EarlyStoppingHook(monitor, patience=5, rule=None, min_delta=0.001, ...)``: mmengine's,
  with two defaults changed: ``min_delta=0.001`` (mmengine's 0.1 is ten mAP points; the
  metrics are rounded to 3 decimals, so 0.001 is the smallest improvement) and
  ``strict=True`` (a ``monitor`` the evaluation does not report stops the run at the
  first validation, naming the reported keys, instead of never stopping).

With EMA, validation runs on the averaged weights and every checkpoint (the best one
too) holds them as its ``state_dict``; ``resume_from`` resumes the average with the run.
"""
from __future__ import annotations

from mmssd.utils.config_error import ConfigError, did_you_mean

#: 2.x EMA hook -> (its keys with their 2.x defaults, the mmssd averaged model).
_EMA_HOOKS = {
    'EMAHook': (dict(momentum=0.0002, interval=1, warm_up=100, resume_from=None),
                'LinearMomentumEMA'),
    'LinearMomentumEMAHook': (dict(momentum=0.001, interval=1, warm_up=100,
                                   skip_buffers=False, resume_from=None), 'LinearMomentumEMA'),
    'ExpMomentumEMAHook': (dict(momentum=0.0002, interval=1, total_iter=2000,
                                skip_buffers=False, resume_from=None), 'ExpMomentumEMA'),
}
#: Keys that mark an ``EMAHook`` written for mmengine (passed through unchanged).
_MMENGINE_EMA_KEYS = {'ema_type', 'update_buffers', 'strict_load', 'begin_iter', 'begin_epoch',
                      'gamma'}


def _ema_hook(hook: dict, where: str) -> dict:
    kind = hook.pop('type')
    priority = hook.pop('priority', None)
    if kind == 'EMAHook' and set(hook) & _MMENGINE_EMA_KEYS:
        return dict(type='EMAHook', **hook, **({'priority': priority} if priority else {}))
    defaults, ema_type = _EMA_HOOKS[kind]
    unknown = sorted(set(hook) - set(defaults))
    if unknown:
        raise ConfigError(f'{where} ({kind}) has unknown keys {unknown}'
                          f'{did_you_mean(unknown[0], defaults)}; known: {sorted(defaults)}')
    args = {**defaults, **hook}
    if args['resume_from'] is not None:
        raise ConfigError(f"{where} ({kind}): resume_from={args['resume_from']!r} is not used: "
                          'the average is saved in every checkpoint and resumes with the run '
                          '(top-level `resume_from` or tools/train.py --resume-from)')
    if not 0 < args['momentum'] < 1:
        raise ConfigError(f"{where} ({kind}): momentum must be in (0, 1); got "
                          f"{args['momentum']}")
    interval = int(args['interval'])
    out = dict(type='EMAHook', ema_type=ema_type, interval=interval,
               update_buffers=not args.get('skip_buffers', True))
    if ema_type == 'ExpMomentumEMA':
        out.update(momentum=args['momentum'], gamma=args['total_iter'])
    else:  # mmcv 1.x and 2.x raise the momentum to the interval's power
        out.update(momentum=args['momentum'] ** interval, warm_up=args['warm_up'])
    if priority is not None:
        out['priority'] = priority
    return out


def translate_custom_hooks(hooks: list[dict]) -> list[dict]:
    """``custom_hooks`` with the 2.x EMA hooks and ``EarlyStoppingHook`` translated (see
    the module docstring); other entries unchanged."""
    out = []
    for i, hook in enumerate(hooks):
        hook = dict(hook)
        where = f'`custom_hooks[{i}]`'
        if hook.get('type') in _EMA_HOOKS:
            out.append(_ema_hook(hook, where))
        elif hook.get('type') == 'EarlyStoppingHook':
            if 'monitor' not in hook:
                raise ConfigError(f"{where} (EarlyStoppingHook) needs `monitor`, the metric "
                                  "to watch, e.g. monitor='bbox_mAP' (COCO) or 'mAP' (VOC)")
            out.append(dict(dict(min_delta=0.001, strict=True), **hook))
        else:
            out.append(hook)
    return out
