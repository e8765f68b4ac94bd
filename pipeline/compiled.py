"""How the pipeline compiles its numeric kernels (numba): one set of options and one cache policy.

A kernel is compiled for its signatures when its module is imported (so the worker's start-up import pays
it, not a job), releasing the GIL (its callers run blocks and channels on threads of their own), without
fast-math (numba's default, stated because the samples depend on it: LLVM may then neither reorder a sum
nor fuse a multiply and an add). It is cached on disk (``NUMBA_CACHE_DIR``, else ``__pycache__`` beside
its module, else the user's cache folder), from which a later process loads it; where numba finds no
writable cache folder it refuses caching with a RuntimeError, and the kernel is compiled in memory, once
per process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numba


def compile_kernel(signature: str | list[str], kernel: Callable[..., Any]) -> Any:
    """``kernel`` compiled for ``signature`` (or each of a list: a numba dispatcher), as the module docstring
    says."""
    options = {"nogil": True, "fastmath": False}
    try:
        return numba.njit(signature, cache=True, **options)(kernel)
    except RuntimeError:
        return numba.njit(signature, **options)(kernel)


def compile_step(step: Callable[..., Any]) -> Any:
    """``step`` as a numba function that kernels call, inlined into each (so it adds no call per sample and is
    cached with them), typed by its callers, without fast-math like them."""
    return numba.njit(inline="always", fastmath=False)(step)
