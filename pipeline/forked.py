"""Work that holds the GIL (essentia's trackers), done beside the rest in a forked child process.

essentia's algorithms keep the GIL for their whole run, so a thread cannot run one beside other Python work;
a forked child can, on the other core, and it starts in milliseconds with everything it needs already in
memory (the modules imported, the inputs shared copy-on-write, nothing pickled on the way in). It sends its
result back through a pipe (pickled) and exits without running any clean-up of the parent's.

The child runs only the function given: numpy and essentia on the inputs, no threads, locks, files or
connections of the parent's. Whatever goes wrong there (an exception, a crash, a result that does not
pickle, a kill), the parent computes the same function itself: the answer is the same (the functions run
here are deterministic) and so is any error, raised with its real traceback. Where there is no fork (not
Linux or macOS), the function simply runs in the caller.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import signal
from collections.abc import Callable
from typing import Any, Generic, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")


class Aside(Generic[T]):
    """``fn(*args)`` running in a forked child: ``result()`` waits for it, ``cancel()`` stops it. One of the
    two must be called (``with`` calls ``cancel`` on the way out, which does nothing once the result is in),
    so no child is left behind. ``beside=False``: no child, ``result()`` computes it (a caller that cannot
    afford a child's working memory beside its own)."""

    def __init__(self, fn: Callable[..., T], *args: Any, beside: bool = True) -> None:
        self._fn, self._args = fn, args
        self._pid, self._pipe = 0, -1
        if beside and hasattr(os, "fork"):
            self._start()

    def _start(self) -> None:
        try:
            read_end, write_end = os.pipe()
        except OSError as exc:  # no file descriptor to spare: computed here when asked
            logger.warning("no pipe for %s (%s); it is computed in this process", self._name, exc)
            return
        try:
            pid = os.fork()
        except OSError as exc:  # no process to spare (a limit, memory): computed here when asked
            logger.warning("could not fork for %s (%s); it is computed in this process", self._name, exc)
            os.close(read_end)
            os.close(write_end)
            return
        if pid == 0:
            # the child: compute, send, leave at once (no atexit, no buffers of the parent's flushed)
            status = 1
            try:
                # a stop meant for the parent's handlers (a worker's, the command line's) just ends the child
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                os.close(read_end)
                payload = pickle.dumps(self._fn(*self._args), protocol=pickle.HIGHEST_PROTOCOL)
                view = memoryview(payload)
                while view:
                    view = view[os.write(write_end, view) :]
                status = 0
            except BaseException:  # noqa: BLE001 - the parent computes it again and raises the real error
                pass
            finally:
                os._exit(status)
        os.close(write_end)
        self._pid, self._pipe = pid, read_end

    def result(self) -> T:
        """The function's result, from the child, or computed here when the child did not deliver it."""
        if self._pid:
            chunks = []
            try:
                while chunk := os.read(self._pipe, 1 << 20):
                    chunks.append(chunk)
            except BaseException:  # a stop while waiting (Ctrl-C, a time limit): the child goes too
                self._reap(kill=True)
                raise
            status = self._reap(kill=False)
            if status == 0:
                return pickle.loads(b"".join(chunks))
            logger.warning(
                "%s did not finish in its child process (%s); computing it here", self._name, status
            )
        return self._fn(*self._args)

    def cancel(self) -> None:
        """Stop the child if it still runs (the result is no longer wanted)."""
        if self._pid:
            self._reap(kill=True)

    def _reap(self, *, kill: bool) -> int:
        """Close the pipe, stop the child if ``kill``, wait for it; its exit status (or -signal)."""
        pid, self._pid = self._pid, 0
        os.close(self._pipe)
        if kill:
            with contextlib.suppress(ProcessLookupError):  # it has ended already
                os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status)

    @property
    def _name(self) -> str:
        return getattr(self._fn, "__qualname__", repr(self._fn))

    def __enter__(self) -> Aside[T]:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.cancel()
