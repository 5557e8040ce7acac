"""Silence C-level output of libraries that print straight to the process's file descriptors
(pybullet prints its build time on import, V-HACD its progress)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from typing import Iterator


@contextlib.contextmanager
def c_output_silenced() -> Iterator[None]:
    """Point file descriptors 1 and 2 at /dev/null for the block (Python exceptions still propagate)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            os.dup2(null.fileno(), 2)
            yield
    finally:
        _flush_c_stdio()  # C printf output still buffered belongs to the silenced block
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)


def _flush_c_stdio() -> None:
    try:
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):  # no C library handle on this platform: nothing to flush
        pass
