"""Helpers of the resource-exhaustion tests."""

from __future__ import annotations

import contextlib
import os
import resource
from collections.abc import Iterator


@contextlib.contextmanager
def descriptors_exhausted() -> Iterator[None]:
    """Inside the block, the process cannot open one more descriptor (``EMFILE``); the limit is put back and
    the filler descriptors closed on the way out. Needs ``/proc/self/fd``."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    highest = max(int(fd) for fd in os.listdir("/proc/self/fd"))
    fillers = []  # fill every free descriptor number up to the highest, so the next one is over the limit
    while not fillers or fillers[-1] <= highest:
        fillers.append(os.dup(0))
    limit = fillers.pop()
    os.close(limit)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        for fd in fillers:
            os.close(fd)
