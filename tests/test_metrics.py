"""lava_pinn.metrics: one relative L2, equal to the written-out formula in the inputs' own
library and precision, with its zero-reference, floor, finite-row and gauge rules."""

import math

import numpy as np
import pytest
import torch

from lava_pinn.metrics import OBJECTIVE_FLOOR, field_errors, rel_l2


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_rel_l2_equals_the_formula_bit_for_bit(dtype):
    g = torch.Generator().manual_seed(0)
    for shape in [(7,), (300, 3), (4097,)]:
        p = torch.randn(*shape, generator=g, dtype=dtype)
        r = torch.randn(*shape, generator=g, dtype=dtype)
        assert rel_l2(p, r) == float(torch.linalg.norm(p - r) / torch.linalg.norm(r))
        assert rel_l2(p, r) == float((p - r).norm() / r.norm().clamp(min=1e-30))
        assert rel_l2(p, r, floor=OBJECTIVE_FLOOR) == rel_l2(p, r)
        pn, rn = p.numpy(), r.numpy()
        assert rel_l2(pn, rn) == float(np.linalg.norm(pn - rn) / np.linalg.norm(rn))


def test_zero_reference_and_floor():
    z = np.zeros(4)
    assert rel_l2(z, z) == 0.0
    assert rel_l2(np.ones(4), z) == math.inf
    assert rel_l2(torch.ones(4), torch.zeros(4)) == math.inf
    assert rel_l2(torch.ones(4), torch.zeros(4), floor=1e-30) == pytest.approx(2e30)
    with pytest.raises(ValueError, match="shape"):
        rel_l2(np.ones(3), np.ones(4))


def test_field_errors_gauge_and_rows():
    x = np.linspace(0, 1, 50)
    ref = np.stack([np.sin(3 * x), np.cos(2 * x)], axis=1)
    pred = ref + np.array([0.0, 5.0])  # the second field off by a constant only
    e = field_errors(pred, ref, ("u", "p"), gauge=("p",))
    assert e["u"] == 0.0 and e["p"] == pytest.approx(0.0, abs=1e-12)
    assert field_errors(pred, ref, ("u", "p"))["p"] > 1
    bad = pred.copy()
    bad[3, 0] = np.nan
    assert field_errors(bad, ref, ("u", "p"), gauge=("p",))["u"] == 0.0  # row 3 dropped
    assert math.isnan(field_errors(bad, ref, ("u", "p"), finite_only=False)["u"])
    assert math.isnan(field_errors(np.full_like(ref, np.nan), ref, ("u", "p"))["u"])
    t = field_errors(torch.tensor(pred), torch.tensor(ref), ("u", "p"), finite_only=False)
    assert t == field_errors(pred, ref, ("u", "p"), finite_only=False)
