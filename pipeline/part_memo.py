"""Parts a process has already rendered or decoded, kept to hand out again: a re-style plays the song's tune,
voice and harmony exactly as the remix before it did, from the stems the re-style before it decoded.

A listener's "Try another style" reaches the worker that has just played the song (a heavy worker plays one
song at a time and lives for many): the lead guitar plays the same notes with the same seed and cabinet in
every style, and the vocals' and harmony's chains read the same stems, so rendering them again is repeated
work (the lead guitar's voice is the costliest part of a play), as is fetching and decoding the song's
stems from the stem cache again (``pipeline.stem_cache.kept_stems``). Each part is kept under a digest of
everything its samples depend on, in memory only, so a deploy (a new process) never meets an old entry; the
newest entries are kept within ``MEMO_BYTES``, and a song longer than ``MEMO_SONG_MAX_S`` keeps nothing,
so a long song's parts never stay in memory. A part handed out is a fresh copy (callers scale parts in
place): the same samples as rendering it again, byte for byte.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from pipeline.types import SAMPLE_RATE

# What a re-style of a 3-minute song keeps: its two stems from the stem cache, its vocals' and harmony's
# chains (all stereo) and its lead voice and twin (mono), about 320 MB as float32; a 5-minute song's, about
# 530 MB. The parts of a song longer than MEMO_SONG_MAX_S are never kept, and its play starts by emptying
# the memo, so a long song's peak memory is what it was without one.
MEMO_BYTES = 512 << 20
MEMO_SONG_MAX_S = 300.0


def digest(*fields: Any) -> bytes:
    """A key for a part: the blake2b digest of ``fields`` (numbers, strings, bytes, arrays, lists, tuples and
    frozen dataclasses of them), each written with its type, so (1, 2) and "1", "2" differ."""
    h = hashlib.blake2b(digest_size=20)
    _feed(h, fields)
    return h.digest()


def _feed(h: Any, value: Any) -> None:
    if isinstance(value, np.ndarray):
        h.update(f"array{value.dtype.str}{value.shape}".encode())
        h.update(np.ascontiguousarray(value).data)  # hashlib reads a large buffer without holding the GIL
    elif isinstance(value, (bytes, bytearray)):
        h.update(b"bytes%d:" % len(value))
        h.update(value)
    elif isinstance(value, (str, int, float, bool, type(None), np.integer, np.floating)):
        h.update(f"{type(value).__name__}:{value!r};".encode())
    elif isinstance(value, (list, tuple)):
        h.update(f"{type(value).__name__}{len(value)}[".encode())
        for item in value:
            _feed(h, item)
        h.update(b"]")
    elif hasattr(value, "__dataclass_fields__"):
        h.update(f"{type(value).__qualname__}(".encode())
        for name in value.__dataclass_fields__:
            _feed(h, getattr(value, name))
        h.update(b")")
    else:
        raise TypeError(f"cannot key a part on a {type(value).__name__}")


class PartMemo:
    """The newest parts made within ``max_bytes`` (least recently used first out), by key."""

    def __init__(self, max_bytes: int = MEMO_BYTES, longest_s: float = MEMO_SONG_MAX_S) -> None:
        self.max_bytes = max_bytes
        self.longest = int(longest_s * SAMPLE_RATE)  # samples of the longest part kept
        self._parts: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def make_room_for(self, samples: int) -> None:
        """Before playing a song of ``samples``: one too long to keep empties the memo, so no other song's
        parts add to its peak."""
        if samples > self.longest:
            self.clear()

    def part(self, fields: tuple[Any, ...], make: Callable[[], np.ndarray]) -> np.ndarray:
        """The part kept under the digest of ``fields`` (a copy), or ``make()``'s, kept when it fits. With
        no room at all (``max_bytes`` 0) nothing is hashed or kept."""
        if self.max_bytes <= 0:
            return make()
        kept = self.peek(fields)
        if kept is not None:
            return kept
        made = make()
        self.keep(fields, made)
        return made

    def peek(self, fields: tuple[Any, ...]) -> np.ndarray | None:
        """A copy of the part kept under the digest of ``fields``, or None."""
        if self.max_bytes <= 0:
            return None
        key = digest(*fields)
        with self._lock:
            kept = self._parts.get(key)
            if kept is None:
                self.misses += 1
                return None
            self._parts.move_to_end(key)
            self.hits += 1
        return kept.copy()

    def keep(self, fields: tuple[Any, ...], part: np.ndarray, *, copy: bool = True) -> None:
        """Keep ``part`` (a copy of it, or itself when the caller gives it up: ``copy=False``) under the
        digest of ``fields`` when it fits (the oldest parts make room)."""
        if self.max_bytes <= 0 or part.shape[-1] > self.longest or part.nbytes > self.max_bytes:
            return
        key = digest(*fields)
        kept = part.copy() if copy else part
        kept.flags.writeable = False
        with self._lock:
            self._parts[key] = kept
            self._parts.move_to_end(key)
            self._evict()

    @property
    def nbytes(self) -> int:
        with self._lock:
            return sum(part.nbytes for part in self._parts.values())

    def keys(self) -> Iterable[bytes]:
        with self._lock:
            return list(self._parts)

    def clear(self) -> None:
        with self._lock:
            self._parts.clear()
            self.hits = self.misses = 0

    def _evict(self) -> None:
        total = sum(part.nbytes for part in self._parts.values())
        while total > self.max_bytes and self._parts:
            _key, oldest = self._parts.popitem(last=False)
            total -= oldest.nbytes


MEMO = PartMemo()  # the process's memo, read by ``play`` and the renderers
