"""What the tests share, importable as ``tests.helpers`` (the repository root is on
``sys.path`` through ``pythonpath`` in ``pyproject.toml``'s pytest section).

- :mod:`tests.helpers.tools`: the repository root, the one-thread environment, running a
  tool as a subprocess (:func:`~tests.helpers.tools.run_tool`) or in-process
  (:func:`~tests.helpers.tools.load_tool`).
- :mod:`tests.helpers.fork_server`: the ``python`` that tools run with in tests: a child
  forked from an interpreter that imported torch and mmssd once, so that a tool starts in
  0.1 s instead of 3-5 s (``run_tool(..., fresh=True)`` for a new interpreter).
- :mod:`tests.helpers.short_run`: shortened training runs of the demo configs and the
  logged records they leave.
- :mod:`tests.helpers.shared`: work done once per test session and shared by every
  pytest-xdist worker (a common folder and a file lock).
- :mod:`tests.helpers.trained`: the trained demo models the end-to-end tests share.
- :mod:`tests.helpers.scheduling`: how ``pytest -n`` groups and orders the tests.
- :mod:`tests.helpers.tiny_coco`: tiny COCO datasets and configs for the fault tests.
- :mod:`tests.helpers.detections`: synthetic detections made from a split's ground truth.
- :mod:`tests.helpers.voc_files`: tiny Pascal VOC folders.
- :mod:`tests.helpers.voc_cases`: the VOC mAP tests' inputs and a case done by hand.
- :mod:`tests.helpers.wandb_run_files`: reading back an offline W&B run.
- :mod:`tests.helpers.toy_runner`: a real mmengine ``Runner`` on a one-weight model, and
  spies that record which mmengine method called an mmssd override.
- :mod:`tests.helpers.state_dicts`: shipped configs against mmdetection's reference
  state dicts (parameter counts, the reference files).
- :mod:`tests.helpers.benchmarks`: importing a script of ``benchmarks/`` by its path.
"""
