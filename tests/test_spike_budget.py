"""``convert(..., spike_budget=N)``: the most accurate conversion within N spikes per inference
on the calibration points; budgets nothing meets are errors naming the smallest that works."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import lava_pinn

D = torch.float64
X = torch.linspace(-1, 1, 300, dtype=D)[:, None]


def _net(act: nn.Module) -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(1, 16), act, nn.Linear(16, 16), act, nn.Linear(16, 1)).double()


def test_budget_picks_the_most_accurate_within_it():
    net = _net(nn.ReLU())
    snn = lava_pinn.convert(net, X, representation="direct", calibration="none", spike_budget=650)
    tried = snn.metadata["budget_search"]
    assert snn.metadata["spike_budget"] == 650
    within = [r for r in tried if r["spikes"] <= 650]
    largest = max(r["T"] for r in within)
    # the secant steps find the edge of the budget exactly: one more step is over it
    assert any(r["T"] == largest + 1 and r["spikes"] > 650 for r in tried)
    assert largest > 128  # past a power of 2
    with torch.no_grad():
        snn(X)
    assert snn.last_stats["spikes_per_point"] <= 650
    best = min(within, key=lambda r: r["error"])
    assert best["T"] == snn.T
    assert snn.metadata["calibrated_T"] == snn.T


def test_budget_chooses_pieces_for_smooth_pwl():
    net = _net(nn.Tanh())
    snn = lava_pinn.convert(net, X, representation="pwl", calibration="none", spike_budget=2000)
    tried = snn.metadata["budget_search"]
    assert {r["pieces"] for r in tried} == {4, 8, 16}
    assert snn.metadata["allocation"] == "sensitivity"  # the budget's default for smooth pwl
    with torch.no_grad():
        snn(X)
    assert snn.last_stats["spikes_per_point"] <= 2000


def test_budget_fills_a_small_T_with_more_pieces():
    """At T=2, 8 pieces fire ~118 spikes and T=3 would be a coarse jump: the search keeps T=2
    and fills it with as many pieces as stay within 150."""
    net = _net(nn.Tanh())
    snn = lava_pinn.convert(net, X, representation="pwl", calibration="none", spike_budget=150)
    tried = snn.metadata["budget_search"]
    filled = [r for r in tried if r["pieces"] not in (4, 8, 16)]
    assert filled and all(r["T"] == 2 and r["pieces"] > 8 for r in filled)
    assert any(r["spikes"] <= 150 for r in filled)
    with torch.no_grad():
        snn(X)
    assert snn.last_stats["spikes_per_point"] <= 150


def test_budget_ranks_uncalibrated_then_calibrates_the_finalists():
    net = _net(nn.Tanh())
    snn = lava_pinn.convert(
        net, X, representation="pwl", calibration="light", spike_budget=1500, pieces=4
    )
    tried = snn.metadata["budget_search"]
    ranked = [r for r in tried if r["calibration"] == "none"]
    final = [r for r in tried if r["calibration"] == "light"]
    assert ranked and final and {r["pieces"] for r in tried} == {None}  # pieces given
    largest = max(r["T"] for r in ranked if r["spikes"] <= 1500)
    assert final[0]["T"] == largest
    assert snn.metadata["calibration"] == "light"
    with torch.no_grad():
        snn(X)
    assert snn.last_stats["spikes_per_point"] <= 1500


def test_budget_converts_a_spinn_within_its_total_spikes():
    from lava_pinn.models import SPINNConfig

    torch.manual_seed(0)
    spinn = SPINNConfig(axes=2, out_features=1, widths=(8, 8), rank=3).build().double()
    x2 = torch.rand(200, 2, dtype=D) * 2 - 1
    snn = lava_pinn.convert(
        spinn, x2, representation="direct", calibration="none", spike_budget=300
    )
    with torch.no_grad():
        snn(x2)
    assert snn.last_stats["spikes"] / x2.shape[0] <= 300  # both axis networks together
    assert snn.metadata["spike_budget"] == 300 and snn.T >= 4


def test_budget_bad_input_names_the_smallest_that_works():
    net = _net(nn.ReLU())
    with pytest.raises(ValueError, match=r"below one spike per neuron \(32 neurons\).*is 32"):
        lava_pinn.convert(net, X, representation="direct", calibration="none", spike_budget=10)
    with pytest.raises(ValueError, match="spike_budget"):
        lava_pinn.convert(net, X, spike_budget=0)


def test_budget_no_T_fits_names_the_smallest():
    # 64 neurons, but thresholds at the 10th percentile make T=2 fire about 120 per point
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(1, 64), nn.ReLU(), nn.Linear(64, 1)).double()
    with torch.no_grad():
        net[0].bias.fill_(1.0)
        net[0].weight.abs_()
    with pytest.raises(ValueError, match=r"smallest budget that works is \d+ \(T=2\)"):
        lava_pinn.convert(
            net,
            X + 2,
            representation="direct",
            calibration="none",
            threshold="percentile",
            percentile=10.0,
            spike_budget=70,
        )
