"""Give the C heap's free memory back to the operating system between the pipeline's stages.

numpy's large arrays are mmapped and unmapped when freed, but a stage also leaves many mid-sized blocks
(separator and analysis temporaries, torch's and essentia's buffers) in glibc's malloc arenas, which keeps
them as the process's resident memory after they are freed; the next stage's peak then comes on top of
them. ``malloc_trim(0)`` releases the arenas' free pages. Elsewhere than glibc (macOS, musl) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _libc() -> Any | None:
    """glibc, when this process runs on it and it has ``malloc_trim``; None otherwise."""
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return libc


def release_free_memory() -> bool:
    """Return the malloc arenas' free pages to the OS (glibc's ``malloc_trim(0)``); True if any was."""
    libc = _libc()
    return bool(libc.malloc_trim(0)) if libc is not None else False
