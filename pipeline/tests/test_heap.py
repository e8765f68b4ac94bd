"""Freed C-heap memory goes back to the OS between stages (glibc malloc_trim); elsewhere nothing breaks."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest

from pipeline import heap


def _resident_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's"
)
def test_freed_heap_blocks_go_back_to_the_os():
    blocks = [bytearray(4000) for _ in range(40_000)]  # ~160 MB of malloc'd blocks (too small to be mmapped)
    kept = blocks[::50]  # a few stay alive all along the heap, so free() alone cannot shrink it
    del blocks
    before = _resident_mb()
    assert heap.release_free_memory()
    assert _resident_mb() < before - 60.0
    assert len(kept) == 800


def test_releasing_is_harmless_without_glibc(monkeypatch):
    heap._libc.cache_clear()
    monkeypatch.setattr(heap.ctypes.util, "find_library", lambda name: None)
    try:
        assert heap.release_free_memory() is False
    finally:
        heap._libc.cache_clear()
