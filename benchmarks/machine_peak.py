"""The machine's measured GEMM peak (the yardstick of the model benchmarks) and its name."""
from __future__ import annotations

import platform
import time
from pathlib import Path

import torch


def cpu_model() -> str:
    """``model name`` of ``/proc/cpuinfo`` (what ``lscpu`` prints as Model name)."""
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gemm_peak(dtype: torch.dtype, size: int = 4096, repeats: int = 3) -> float:
    """Best FLOP/s of ``torch.mm`` on two ``(size, size)`` matrices of ``dtype``
    (``2 * size**3`` FLOPs per product) with the current ``torch.get_num_threads()``."""
    g = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=g).to(dtype)
    b = torch.randn(size, size, generator=g).to(dtype)
    out = torch.empty(size, size, dtype=dtype)
    torch.mm(a, b, out=out)  # warm-up (packing buffers, thread pool)
    best = float('inf')
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b, out=out)
        best = min(best, time.perf_counter() - start)
    return 2 * size ** 3 / best
