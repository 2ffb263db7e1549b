"""``pwl`` with ``allocation="sensitivity"``: pieces per unit from the unit's effect on the
output (lava_pinn.conversion.allocation), within the spikes of uniform pieces."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

import lava_pinn
from lava_pinn.conversion.allocation import allocate, output_sensitivity, unit_cost

D = torch.float64
X = torch.linspace(-1, 1, 400, dtype=D)[:, None]


def _net() -> nn.Sequential:
    """Tanh 1-24-24-1 whose output reads half the last layer's units 100x less."""
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Linear(1, 24), nn.Tanh(), nn.Linear(24, 24), nn.Tanh(), nn.Linear(24, 1)
    ).double()
    with torch.no_grad():
        net[0].weight.mul_(3.0)
        net[4].weight[:, ::2] *= 0.01
    return net


def test_sensitivity_is_the_relative_jacobian():
    """One hidden layer: ``d y / d h_j = w_j``, so ``a_j = |w_j| / rms(y)``."""
    torch.manual_seed(1)
    W, b = torch.randn(5, 1, dtype=D), torch.randn(5, dtype=D)
    w_out, b_out = torch.randn(1, 5, dtype=D), torch.randn(1, dtype=D)
    (a,) = output_sensitivity([nn.Tanh()], [W], [b], w_out, b_out, X)
    y = torch.tanh(X @ W.T + b) @ w_out.T + b_out
    torch.testing.assert_close(a, w_out[0].abs() / y.pow(2).mean().sqrt())


def test_greedy_stays_within_the_uniform_spikes_and_drops_idle_units():
    z = torch.linspace(-2, 2, 300, dtype=D)
    f = torch.tanh

    def bp(u, K):
        knots = torch.linspace(-2.2, 2.2, K + 1, dtype=D)
        c = int(torch.argmin((knots - 0.0).abs()))
        return knots[c:], knots[: c + 1].flip(0)

    units = [{"f": f, "z": z, "a": a, "var": float(f(z).var())} for a in (1.0, 0.3, 0.0)]
    K = allocate(units, 8, 16, bp, 64)
    spent = sum(unit_cost(f, z, *bp(None, k), 16)[1] for k in K if k)
    budget = 3 * unit_cost(f, z, *bp(None, 8), 16)[1]
    assert spent <= budget
    assert K[2] == 0  # no effect on the output: no neuron
    assert K[0] > K[1] > 0  # more pieces where the output is more sensitive


def test_sensitivity_allocation_is_more_accurate_at_equal_spikes():
    net = _net()
    with torch.no_grad():
        y = net(X)
    out = {}
    for alloc in ("uniform", "sensitivity"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            snn = lava_pinn.convert(
                net, X, T=16, representation="pwl", calibration="none", allocation=alloc
            )
        err = float((snn(X) - y).norm() / y.norm())
        out[alloc] = (err, snn.last_stats["spikes_per_point"], snn.metadata["allocation"])
    (e_u, s_u, _), (e_s, s_s, name) = out["uniform"], out["sensitivity"]
    assert name == "sensitivity"
    assert s_s <= 1.1 * s_u
    assert e_s < 0.75 * e_u  # measured 0.61x


def test_bad_allocation_is_named():
    net = _net()
    with pytest.raises(ValueError, match="allocation must be 'uniform'.*or 'sensitivity'"):
        lava_pinn.convert(net, X, T=8, representation="pwl", allocation="greedy")
    with pytest.raises(ValueError, match="allocation"):
        lava_pinn.convert(net, X, T=8, representation="direct", allocation="sensitivity")
