"""Shared pytest fixtures: seeded random sources and the optional reference data folder."""

from __future__ import annotations

import os
import platform

# The golden tier's stored integers come from float conversion, whose last bits depend on the
# BLAS kernel OpenBLAS picks for the CPU (its AVX-512 kernels round differently from the AVX2
# ones, and a rounding flips an integer weight now and then). Pin the AVX2 kernel on x86-64 so
# the suite gives the same integers on every such machine; it takes effect only before numpy
# loads, hence here, above the imports.
if platform.machine().lower() in ("x86_64", "amd64"):
    os.environ.setdefault("OPENBLAS_CORETYPE", "Haswell")

import random  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _seed_everything():
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    yield


@pytest.fixture
def one_torch_thread():
    """One torch thread for tests of small networks (two threads only contend on a shared
    2-core runner); the previous setting is restored."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` beside the repository; tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"reference data folder {SHARED_DATA} is absent (only on developer machines)")
    return SHARED_DATA
