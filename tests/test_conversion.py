"""Conversion: neuron rates in closed form, thresholds, calibration guard, PWL, I/O, bad input."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

import lava_pinn
from lava_pinn.conversion import (
    SNNFileError,
    SpikingLayer,
    SpikingNetwork,
    SpikingSPINN,
    options_for,
)
from lava_pinn.conversion.network import OutputLayer, simulate
from lava_pinn.conversion.thresholds import choose_thresholds, quantize
from lava_pinn.models import SPINNConfig


def _net(seed: int = 0, widths=(16, 16)) -> tuple[nn.Sequential, torch.Tensor]:
    torch.manual_seed(seed)
    dims = [1, *widths, 1]
    layers: list[nn.Module] = []
    for i in range(len(dims) - 1):
        layers.append(nn.Linear(dims[i], dims[i + 1]))
        if i < len(dims) - 2:
            layers.append(nn.Tanh())
    net = nn.Sequential(*layers).double()
    x = torch.linspace(-1, 1, 300, dtype=torch.float64)[:, None]
    return net, x


def test_if_constant_current_closed_form():
    # one IF neuron, v0 = V/2, constant current z: clip(round(zT/V), 0, T) spikes
    T, V = 32, 0.5
    z = torch.linspace(-0.3, 0.9, 97, dtype=torch.float64)
    layer = SpikingLayer(
        torch.ones(1, 1, dtype=torch.float64),
        torch.zeros(1, dtype=torch.float64),
        "if",
        torch.full((1,), V, dtype=torch.float64),
        torch.full((1,), V / 2, dtype=torch.float64),
    )
    out = OutputLayer(torch.ones(1, 1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64))
    _, counts = simulate((layer,), out, z[:, None], T)
    expected = torch.clamp(torch.floor(z * T / V + 0.5), 0, T)
    assert torch.equal(counts[0][:, 0], expected)
    assert torch.allclose(quantize(z, torch.tensor(V), T, False) * T / V, expected)


def test_graded_if_constant_current_closed_form():
    # one graded neuron, quantum V, v0 = V/2, constant current z: soft reset conserves charge,
    # so it sends clip(round(zT/V), 0, P T) quanta, at most P per step
    from lava_pinn.neurons import GRADED_LEVELS as P

    T, V = 16, 0.25
    z = torch.linspace(-0.3, 1.2 * P * V, 211, dtype=torch.float64)
    layer = SpikingLayer(
        torch.ones(1, 1, dtype=torch.float64),
        torch.zeros(1, dtype=torch.float64),
        "graded-if",
        torch.full((1,), V, dtype=torch.float64),
        torch.full((1,), V / 2, dtype=torch.float64),
    )
    out = OutputLayer(torch.ones(1, 1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64))
    _, counts = simulate((layer,), out, z[:, None], T)
    expected = torch.clamp(torch.floor(z * T / V + 0.5), 0, P * T)
    # within 1e-9 of a rounding boundary floating point may fall either way
    exact = ((z * T / V + 0.5) - torch.round(z * T / V + 0.5)).abs() > 1e-9
    assert torch.equal(counts[0][exact, 0], expected[exact])
    assert (counts[0][:, 0] - expected).abs().max() <= 1
    assert int(counts[0].max()) == P * T  # saturates at P quanta per step


def test_graded_neurons_convert_more_accurately():
    # same network, same T: graded spikes resolve P times finer than binary ones
    net, x = _net(3)
    with torch.no_grad():
        y_ann = net(x)
    errs = {}
    for neuron in ("if", "graded-if"):
        snn = lava_pinn.convert(net, x, T=16, neuron=neuron, calibration="light")
        with torch.no_grad():
            errs[neuron] = float((snn(x) - y_ann).norm() / y_ann.norm())
    assert errs["graded-if"] < 0.5 * errs["if"]


def test_thresholds_methods():
    g = torch.Generator().manual_seed(0)
    a = torch.rand(500, 4, generator=g, dtype=torch.float64)
    vmax = choose_thresholds("max", a, a, 16)
    assert torch.allclose(vmax, a.max().expand(4))
    vp = choose_thresholds("percentile", a, a, 16, p=50.0, per_neuron=True)
    assert torch.allclose(vp, torch.quantile(a, 0.5, dim=0))
    vm = choose_thresholds("mse", a, a, 4)
    err = lambda V: (quantize(a, V, 4, False) - a).pow(2).mean()  # noqa: E731
    assert err(vm) <= err(vmax) + 1e-15
    with pytest.raises(ValueError, match="-5"):
        choose_thresholds("percentile", a, a, 16, p=-5)
    with pytest.raises(ValueError, match="T"):
        choose_thresholds("mse", a, a, 0)


@pytest.mark.parametrize("method", ["light", "potential", "weight", "decoder", "advanced"])
def test_calibration_never_worse(method):
    net, x = _net()
    kw = dict(T=16, representation="direct")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = lava_pinn.convert(net, x, calibration="none", **kw)
        more = options_for("direct", method, calibration_steps=50)
        cal = lava_pinn.convert(net, x, calibration=method, **kw, **more)
    with torch.no_grad():
        y = net(x)
    e0 = float((base(x) - y).norm() / y.norm())
    e1 = float((cal(x) - y).norm() / y.norm())
    assert e1 <= e0 + 1e-12


def test_pwl_error_decreases_with_T():
    net, x = _net(1)
    with torch.no_grad():
        y = net(x)
    errs = []
    for T in (8, 32, 128):
        snn = lava_pinn.convert(net, x, T=T, representation="pwl", pieces=8, calibration="none")
        errs.append(float((snn(x) - y).norm() / y.norm()))
    assert errs[0] > errs[1] > errs[2]
    assert errs[2] < 0.02


def test_stats_save_load_roundtrip(tmp_path):
    net, x = _net()
    snn = lava_pinn.convert(net, x, T=8, representation="pwl", pieces=4, calibration="light")
    y = snn(x)
    st = snn.last_stats
    assert len(st["layers"]) == 2 and st["layers"][0]["neuron_counts"].shape == (64,)
    assert 0 <= st["rate"] <= 1
    path = snn.save(tmp_path / "a.snn")
    back = SpikingNetwork.load(path)
    assert torch.equal(back(x), y) and back.T == 8
    bad = tmp_path / "bad.snn"
    bad.write_bytes(b"not a zip")
    with pytest.raises(SNNFileError, match="bad.snn"):
        SpikingNetwork.load(bad)


def test_bad_inputs():
    net, x = _net()
    with pytest.raises(ValueError, match=r"model\.1 \(LayerNorm\)"):
        lava_pinn.convert(nn.Sequential(nn.Linear(1, 4), nn.LayerNorm(4), nn.Linear(4, 1)), x)
    with pytest.raises(ValueError, match="elementwise"):
        lava_pinn.convert(nn.Sequential(nn.Linear(1, 4), nn.Softmax(-1), nn.Linear(4, 1)), x)
    drop = nn.Sequential(nn.Linear(1, 4), nn.Tanh(), nn.Dropout(0.5), nn.Linear(4, 1))
    with pytest.raises(ValueError, match="training mode"):
        lava_pinn.convert(drop, x)
    with pytest.raises(ValueError, match="-3"):
        lava_pinn.convert(net, x, T=-3)
    xb = x.clone()
    xb[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        lava_pinn.convert(net, xb)
    with pytest.warns(UserWarning, match="at least"):
        lava_pinn.convert(net, x[:20], T=4, representation="direct", calibration_steps=5)


def test_spinn_grid_equals_pointwise():
    torch.manual_seed(0)
    model = SPINNConfig(axes=2, out_features=1, widths=(8, 8), rank=3).build().double()
    x = torch.rand(200, 2, dtype=torch.float64) * 2 - 1
    snn = lava_pinn.convert(model, x, T=8, representation="direct", calibration="light")
    assert isinstance(snn, SpikingSPINN)
    a = torch.linspace(-1, 1, 5, dtype=torch.float64)
    b = torch.linspace(-1, 1, 4, dtype=torch.float64)
    g = snn.grid([a, b])
    pts = torch.stack(torch.meshgrid(a, b, indexing="ij"), -1).reshape(-1, 2)
    assert torch.allclose(g.reshape(-1, 1), snn(pts), atol=1e-12)


def test_neuron_model_fields_are_validated():
    from lava_pinn.neurons import NeuronModel, if_soft

    ok = {"name": "x", "description": "d", "step": if_soft.step, "int_step": if_soft.int_step}
    with pytest.raises(ValueError, match=r"reset must be one of \('soft', 'hard'\)"):
        NeuronModel(**ok, reset="sometimes")
    with pytest.raises(TypeError, match="step must be callable"):
        NeuronModel(**{**ok, "step": None})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="levels must be an integer >= 1"):
        NeuronModel(**ok, levels=0)
    with pytest.raises(ValueError, match="lif_decay"):
        NeuronModel(**ok, lava="lif")
    with pytest.raises(ValueError, match="lava must be one of"):
        NeuronModel(**ok, lava="loihi")
    with pytest.raises(ValueError, match="state_vars"):
        NeuronModel(**ok, state_vars=("u",))
    with pytest.raises(ValueError, match="threshold_range"):
        NeuronModel(**ok, threshold_range=(5, 1))


D = torch.float64


def test_pwl_placement_one_gives_equal_output_steps():
    from lava_pinn.conversion.representations import _breakpoints

    f = torch.tanh
    for placement, equal in ((1.0, True), (0.0, False)):
        pos, neg = _breakpoints(f, -3.0, 0.2, 2.5, 12, 0.25, D, placement)
        for rises in (f(pos).diff(), -f(neg).diff()):  # each side of the centre
            spread = float(rises.max() / rises.min())
            # equal up to the 801-point density grid and its 1e-4 floor (measured: below 1.01)
            assert (spread < 1.03) == equal, (placement, spread)


def test_pwl_placement_is_validated_and_recorded():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(1, 6), nn.Tanh(), nn.Linear(6, 1)).double()
    x = torch.linspace(-1, 1, 64, dtype=D)[:, None]
    snn = lava_pinn.convert(net, x, T=16, calibration="none", pieces=4, placement=0.75)
    assert snn.metadata["placement"] == 0.75
    for bad, err in ((1.5, ValueError), (-0.1, ValueError), ("half", TypeError), (True, TypeError)):
        with pytest.raises(err, match="placement"):
            lava_pinn.convert(net, x, T=16, calibration="none", pieces=4, placement=bad)
