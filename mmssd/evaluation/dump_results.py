"""``tools/test.py --out``: mmengine's ``DumpResults`` with its prefix set."""
from __future__ import annotations

from mmengine.evaluator import DumpResults as MMEngineDumpResults

from mmssd.registry import METRICS


@METRICS.register_module()
class DumpResults(MMEngineDumpResults):
    """mmengine's ``DumpResults`` (same arguments: ``out_file_path``, a ``.pkl``).

    It returns no metrics, so its prefix names nothing; it is set so that mmengine does
    not warn ``The prefix is not set in metric class DumpResults`` (mmengine's class takes
    no ``prefix`` argument).
    """

    default_prefix: str | None = 'dump'
