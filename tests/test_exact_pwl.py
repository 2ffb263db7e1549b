"""Piecewise-linear activations convert exactly: ReLU is one IF neuron per unit with slope 1
in ``direct`` (the classic conversion), ``pwl`` places only the pieces the activation has; smooth
activations get a clipped-line fit (``fit="clipped"``) or pieces from an error target
(``pieces_tol``); exact-only paths refuse what they cannot represent, naming it."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

import lava_pinn
from lava_pinn.activations import (
    PiecewiseLinear,
    get_activation,
    piecewise_activations,
    piecewise_linear,
)

D = torch.float64
X = torch.linspace(-1, 1, 400, dtype=D)[:, None]


def _net(act: nn.Module, seed: int = 0, width: int = 16, gain: float = 4.0) -> nn.Sequential:
    torch.manual_seed(seed)
    net = nn.Sequential(
        nn.Linear(1, width), act, nn.Linear(width, width), act, nn.Linear(width, 1)
    ).double()
    with torch.no_grad():
        net[0].weight.mul_(gain)
    return net


def _err(net: nn.Module, **kw) -> tuple[float, lava_pinn.conversion.SpikingNetwork]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        snn = lava_pinn.convert(net, X, **kw)
    with torch.no_grad():
        y = net(X)
        return float((snn(X) - y).norm() / y.norm()), snn


def test_registry_knows_the_pieces():
    assert set(piecewise_activations()) == {"relu", "leaky-relu", "relu6", "hardtanh", "prelu"}
    assert piecewise_linear(nn.ReLU()) == PiecewiseLinear((0.0,), (0.0, 1.0))
    assert piecewise_linear(nn.LeakyReLU(0.2)).slopes == (0.2, 1.0)
    assert piecewise_linear(nn.Hardtanh(-2.0, 3.0)).knots == (-2.0, 3.0)
    assert piecewise_linear(nn.PReLU(init=0.3)).slopes[0] == pytest.approx(0.3)
    assert piecewise_linear(nn.Tanh()) is None
    assert get_activation("relu6").pieces(nn.ReLU6()).knots == (0.0, 6.0)
    pl = PiecewiseLinear((0.0, 6.0), (0.0, 1.0, 0.0))
    assert pl.pieces_on(-1.0, 7.0) == [(-1.0, 0.0, 0.0), (0.0, 6.0, 1.0), (6.0, 7.0, 0.0)]
    assert pl.pieces_on(1.0, 2.0) == [(1.0, 2.0, 1.0)]
    with pytest.raises(ValueError, match="slopes must hold"):
        PiecewiseLinear((0.0,), (1.0,))
    with pytest.raises(ValueError, match="increase strictly"):
        PiecewiseLinear((1.0, 0.0), (0.0, 1.0, 0.0))


def test_direct_relu_is_the_classic_conversion():
    # every unit exact: slope 1, no bias change; the error is quantisation only, so it falls
    # like 1/T, and calibration is not needed for it
    net = _net(nn.ReLU())
    errs = {}
    for T in (64, 1024):
        errs[T], snn = _err(net, T=T, representation="direct", calibration="none")
        assert snn.metadata["exact_units"] == 32
    assert errs[1024] < 0.004
    assert errs[1024] < errs[64] / 8
    first = snn.hidden[0]
    ratio = first.weight[:, 0] / net[0].weight[:, 0].detach()  # slope 1 (0: a dead unit)
    assert bool(((ratio - 1).abs() < 1e-12).sum() >= 12)
    assert bool((((ratio - 1).abs() < 1e-12) | (ratio == 0)).all())


@pytest.mark.parametrize(
    ("act", "most"),
    [(nn.ReLU(), 1), (nn.LeakyReLU(0.2), 2), (nn.ReLU6(), 1), (nn.Hardtanh(-0.5, 0.5), 1)],
    ids=lambda a: repr(a),
)
def test_pwl_places_only_the_pieces_the_activation_has(act, most):
    net = _net(act)
    err, snn = _err(net, T=1024, representation="pwl", calibration="none")
    assert snn.metadata["neurons_per_unit"] <= most
    assert snn.neurons <= most * 32
    assert err < 0.005


def test_direct_saturating_units_keep_their_flat_top():
    # ReLU6 / Hardtanh units that reach both flat pieces decode lo + A r with A the flat top
    # minus the flat bottom, whatever the layer's threshold
    for act in (nn.ReLU6(), nn.Hardtanh(-0.5, 0.5)):
        net = _net(act, gain=20.0)
        err, snn = _err(net, T=1024, representation="direct", calibration="none")
        assert snn.metadata["exact_units"] == 32
        assert err < 0.005, (act, err)


def test_exact_only_paths_name_what_they_cannot_do():
    with pytest.raises(ValueError, match=r"'tanh' is not piecewise linear"):
        _err(_net(nn.Tanh()), T=16, representation="pwl", calibration="none", exact=True)
    with pytest.raises(ValueError, match=r"'sin' is not piecewise linear"):
        _err(_net(lava_pinn.activations.Sin()), T=16, representation="direct", exact=True)
    # a LeakyReLU unit crossing its knot needs two pieces: direct says to use pwl
    with pytest.raises(ValueError, match="representation='pwl'"):
        _err(_net(nn.LeakyReLU(0.2)), T=16, representation="direct", exact=True)
    err, _ = _err(_net(nn.LeakyReLU(0.2)), T=256, representation="pwl", exact=True)
    assert err < 0.01


def test_bad_new_options_are_named():
    net = _net(nn.Tanh())
    with pytest.raises(ValueError, match="fit must be 'line'"):
        lava_pinn.convert(net, X, T=8, representation="direct", fit="curvy")
    with pytest.raises(ValueError, match="pieces_tol"):
        lava_pinn.convert(net, X, T=8, representation="pwl", pieces_tol=-1.0)
    with pytest.raises(TypeError, match="exact must be True or False"):
        lava_pinn.convert(net, X, T=8, representation="pwl", exact="yes")
    with pytest.raises(ValueError, match="fit="):
        lava_pinn.convert(net, X, T=8, representation="pwl", fit="clipped")
    with pytest.raises(ValueError, match="signed"):
        lava_pinn.convert(net, X, T=8, representation="direct", neuron="signed-if", fit="clipped")


def test_clipped_fit_beats_the_line_on_tanh():
    net = _net(nn.Tanh(), gain=6.0)
    line, _ = _err(net, T=256, representation="direct", calibration="none", fit="line")
    clipped, _ = _err(net, T=256, representation="direct", calibration="none", fit="clipped")
    assert clipped < 0.7 * line


def test_pieces_tol_chooses_pieces_per_unit():
    net = _net(nn.Tanh(), gain=3.0)
    coarse, a = _err(net, T=1024, representation="pwl", calibration="none", pieces_tol=0.05)
    fine, b = _err(net, T=1024, representation="pwl", calibration="none", pieces_tol=0.002)
    assert a.neurons < b.neurons
    assert fine < coarse
    # units with a nearly linear range need only the minimum, others more
    assert a.metadata["neurons_per_unit"] < 8 < b.metadata["neurons_per_unit"]
