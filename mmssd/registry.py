"""Every registry of mmssd, each a child of mmengine's root registry of the same kind.

Being children of mmengine's roots means a config can name mmengine's own classes
(optimizers, schedulers, hooks, loops, ...) next to mmssd's, and mmengine's Runner
finds mmssd's classes once ``default_scope='mmssd'`` is set.

An unknown ``type`` raises :class:`UnknownTypeError`, which names the registry, the
bad name and the closest registered names.
"""
from __future__ import annotations

import difflib

from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNER_CONSTRUCTORS as MMENGINE_RUNNER_CONSTRUCTORS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry


class UnknownTypeError(KeyError):
    """A config names a ``type`` that no registry in reach knows."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class SuggestingRegistry(Registry):
    """A :class:`mmengine.registry.Registry` whose failed look-ups suggest close names."""

    def get(self, key: str):
        if isinstance(key, str) and '.' in key:
            # a name registered with its 2.x scope, such as 'mmcls.TIMMBackbone', is ours
            # (mmengine would look for an 'mmcls' registry)
            self.import_from_location()
            if key in self.module_dict:
                return self.module_dict[key]
        found = super().get(key)
        if found is None and isinstance(key, str):
            raise UnknownTypeError(self._unknown_type_message(key))
        return found

    def _unknown_type_message(self, key: str) -> str:
        names = sorted(self.names_in_reach())
        close = difflib.get_close_matches(key.split('.')[-1], names, n=3, cutoff=0.6)
        hint = f' Did you mean {", ".join(repr(c) for c in close)}?' if close else ''
        return (f"'{key}' is not in the {self.scope}::{self.name} registry.{hint} "
                f'Registered names: {", ".join(names)}.')

    def names_in_reach(self) -> set[str]:
        """Names this registry can build: its own and its ancestors'."""
        names: set[str] = set()
        registry: Registry | None = self
        while registry is not None:
            names.update(registry.module_dict)
            registry = registry.parent
        return names


def _child(name: str, parent: Registry, location: str | None = None) -> SuggestingRegistry:
    locations = [location] if location else []
    return SuggestingRegistry(name, parent=parent, scope='mmssd', locations=locations)


MODELS = _child('model', MMENGINE_MODELS, 'mmssd.models')
MODEL_WRAPPERS = _child('model_wrapper', MMENGINE_MODEL_WRAPPERS, 'mmssd.engine')
TASK_UTILS = _child('task util', MMENGINE_TASK_UTILS, 'mmssd.models')
DATASETS = _child('dataset', MMENGINE_DATASETS, 'mmssd.datasets')
TRANSFORMS = _child('transform', MMENGINE_TRANSFORMS, 'mmssd.datasets')
FUNCTIONS = _child('function', MMENGINE_FUNCTIONS, 'mmssd.datasets')
METRICS = _child('metric', MMENGINE_METRICS, 'mmssd.evaluation')
HOOKS = _child('hook', MMENGINE_HOOKS, 'mmssd.engine')
LOOPS = _child('loop', MMENGINE_LOOPS, 'mmssd.engine')
OPTIMIZERS = _child('optimizer', MMENGINE_OPTIMIZERS)
OPTIM_WRAPPERS = _child('optim_wrapper', MMENGINE_OPTIM_WRAPPERS)
PARAM_SCHEDULERS = _child('parameter scheduler', MMENGINE_PARAM_SCHEDULERS)
VISUALIZERS = _child('visualizer', MMENGINE_VISUALIZERS, 'mmssd.visualization')
VISBACKENDS = _child('vis_backend', MMENGINE_VISBACKENDS)
RUNNERS = _child('runner', MMENGINE_RUNNERS)
RUNNER_CONSTRUCTORS = _child('runner constructor', MMENGINE_RUNNER_CONSTRUCTORS)
DATA_SAMPLERS = _child('data sampler', MMENGINE_DATA_SAMPLERS, 'mmssd.datasets')
WEIGHT_INITIALIZERS = _child('weight initializer', MMENGINE_WEIGHT_INITIALIZERS)
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor',
                                    MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS)
EVALUATOR = _child('evaluator', MMENGINE_EVALUATOR)
LOG_PROCESSORS = _child('log_processor', MMENGINE_LOG_PROCESSORS)
