"""Fixtures shared by the test files that run tiny diffusers models."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def one_torch_thread_per_module():
    """Tiny models run faster on one torch thread than on two contended cores; the process's thread
    count is restored after the module. Use with `pytestmark = pytest.mark.usefixtures(...)`."""
    from physreel.engine.builtin.train import torch_threads

    with torch_threads(1):
        yield
