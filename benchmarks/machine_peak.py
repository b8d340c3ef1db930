"""The machine's measured compute peak (the yardstick of the model benchmarks) and its name.

Two kernels are measured, because neither alone is the machine's limit: ``torch.mm`` runs
fp32 products through the BLAS torch was built with (MKL in the PyPI wheels, which on AMD
CPUs does not reach the AVX-512 throughput), while convolutions run through oneDNN. On this
project's AMD EPYC, a 3x3 convolution reaches about twice the fp32 ``torch.mm`` rate.
"""
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


def conv_peak(dtype: torch.dtype, batch: int = 8, channels: int = 512, size: int = 38,
              repeats: int = 3) -> float:
    """Best FLOP/s of a 3x3 convolution (oneDNN), ``(batch, channels, size, size)`` in and
    out (the default is VGG16's conv4 block of SSD300 at batch 8), in either memory layout
    (contiguous or channels_last), with the current ``torch.get_num_threads()``.

    FLOPs: ``2 * batch * size**2 * channels**2 * 9`` per convolution.
    """
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, channels, size, size, generator=g).to(dtype)
    w = torch.randn(channels, channels, 3, 3, generator=g).to(dtype)
    flops = 2 * batch * size * size * channels * channels * 9
    best = float('inf')
    for layout in (torch.contiguous_format, torch.channels_last):
        xl, wl = x.contiguous(memory_format=layout), w.contiguous(memory_format=layout)
        torch.conv2d(xl, wl, padding=1)  # warm-up (oneDNN primitive creation)
        for _ in range(repeats):
            start = time.perf_counter()
            torch.conv2d(xl, wl, padding=1)
            best = min(best, time.perf_counter() - start)
    return flops / best
