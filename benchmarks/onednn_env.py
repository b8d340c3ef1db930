"""Environment the benchmarks that interleave model variants need before torch loads.

Imported for its effect, before ``torch``: the variants' models, interleaved step by step,
together need more oneDNN primitives (one per convolution, direction, layout and dtype) than
its default cache of 1024 holds, and an evicted primitive is re-created at every step (five
copies of the demo model made the first variant measure 1.5x slower). A value already in
the environment is kept.
"""
import os

os.environ.setdefault('ONEDNN_PRIMITIVE_CACHE_CAPACITY', '16384')
