"""benchmarks/equal_cost.py: the classic baseline (Diehl 2015 / Rueckauer 2017 weight
normalisation) is a correct ReLU conversion, and lava-pinn's exact ``direct`` is at least as
accurate at the same T on a small ReLU network; nothing written."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

import lava_pinn

D = torch.float64


def _relu_net() -> tuple[nn.Sequential, torch.Tensor]:
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Linear(1, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1)
    ).double()
    x = torch.linspace(-1, 1, 512, dtype=D)[:, None]
    return net, x


def test_classic_normalisation_tends_to_the_ann():
    from benchmarks import equal_cost as ec

    net, x = _relu_net()
    with torch.no_grad():
        y = net(x)
    classic = ec.classic_convert(net, x, None)
    assert all(lam > 0 for lam in classic["lambdas"])
    errs = [ec.rel(ec.classic_run(classic, x, T)[0], y) for T in (32, 1024)]
    assert errs[1] < errs[0] / 10 and errs[1] < 0.01
    p999 = ec.classic_convert(net, x, 99.9)
    assert all(a <= b for a, b in zip(p999["lambdas"], classic["lambdas"], strict=True))


@pytest.mark.parametrize("T", [32, 256])
def test_direct_within_the_classic_error_at_the_same_T(T):
    from benchmarks import equal_cost as ec

    net, x = _relu_net()
    with torch.no_grad():
        y = net(x)
    base = ec.classic_run(ec.classic_convert(net, x, None), x, T)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        snn = lava_pinn.convert(net, x, T=T, representation="direct", calibration="none")
        pwl = lava_pinn.convert(net, x, T=T, representation="pwl", calibration="none")
    assert ec.rel(snn(x), y) <= ec.rel(base, y)
    assert ec.rel(pwl(x), y) <= ec.rel(base, y)
    assert pwl.metadata["neurons_per_unit"] <= 1


def test_synops_count_fan_out():
    from benchmarks import equal_cost as ec

    counts = [torch.tensor([[2.0, 0.0], [0.0, 1.0]])]
    w = torch.tensor([[1.0, 0.0], [1.0, 3.0], [0.0, 2.0]])  # column fan-outs 2 and 2
    assert ec.synops(counts, [w]) == pytest.approx((2 * 2 + 1 * 2) / 2)


def test_ann_size_and_price_in_closed_form():
    from benchmarks.equal_cost import ann_size
    from benchmarks.equal_cost_report import price

    net, _ = _relu_net()
    size = ann_size(net)
    assert size == {"ann_macs": 32 + 32 * 32 + 32, "ann_units": 64}
    # cmos-45nm: binary op 0.9 pJ, no spike or neuron-update cost; ANN 4.6 / 0.23 pJ per MAC
    row = {"synops": 10_000, "spikes": 500, "neurons": 64, "T": 32}
    ann = size["ann_macs"]
    assert price(row, size) == (
        f">= {9.0:.3g} | >= {9000 / (ann * 4.6):.3g} | >= {9000 / (ann * 0.23):.3g}"
    )
    assert price(row, {}) == " | | "
