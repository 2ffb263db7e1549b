"""Golden tier: the deployed outputs of the committed networks, bit for bit.

Each case of ``tests/golden/make_twin_golden.py`` converts a committed pretrained checkpoint,
quantizes it and runs the torch fixed-point twin; the integer network's digest, the readout
accumulators and every layer's spike counts and messages must equal the stored ones (``==``).
A refactor that changes any deployed bit fails here. The float conversion's last bits depend on
the BLAS kernel, so ``tests/conftest.py`` pins OpenBLAS's AVX2 kernel on x86-64 (the stored
integers were made under it).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

GOLDEN = Path(__file__).parent / "golden"


def _maker():
    spec = importlib.util.spec_from_file_location(
        "make_twin_golden", GOLDEN / "make_twin_golden.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


MAKER = _maker()
STORED = np.load(GOLDEN / "twin_golden.npz")


@pytest.mark.parametrize("case", MAKER.CASES, ids=[c[0] for c in MAKER.CASES])
def test_twin_outputs_equal_golden(case):
    from exporters.twin import run_twin

    name = case[0]
    net, x = MAKER.build(case)
    assert MAKER.network_digest(net) == str(STORED[f"{name}/digest"])
    r = run_twin(net, x)
    assert np.array_equal(r.acc, STORED[f"{name}/acc"])
    for i, (c, e) in enumerate(zip(r.counts, r.events, strict=True)):
        assert np.array_equal(c, STORED[f"{name}/counts{i}"]), f"layer {i} counts"
        assert np.array_equal(e, STORED[f"{name}/events{i}"]), f"layer {i} events"
