"""``sigma-delta-relu``: ReLU pieces + relays, netx integers, the netx twin and the netx file."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from exporters.sigma_delta.relu_quant import quantize_relu
from exporters.sigma_delta.twin import DeltaRangeError, run_pipeline
from lava_pinn.sigma_delta import convert_sigma_delta


def _mlp(act: type[nn.Module], seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 8), act(), nn.Linear(8, 8), act(), nn.Linear(8, 2)).double()


def _points(n: int, seed: int = 1) -> torch.Tensor:
    return torch.rand(n, 3, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_relu_ann_is_one_neuron_per_unit_exactly():
    model, x = _mlp(nn.ReLU), _points(64)
    net = convert_sigma_delta(model, x, neuron="sigma-delta-relu")
    assert [la.n_out for la in net.layers] == [8, 8]
    with torch.no_grad():
        assert torch.allclose(net.ann(x), model(x), rtol=0, atol=1e-12)


def test_relay_is_identity_and_pieces_fit():
    model, x = _mlp(nn.Tanh), _points(256)
    net = convert_sigma_delta(model, x, neuron="sigma-delta-relu", pieces=8)
    names = [la.name.split("/")[-1] for la in net.layers]
    assert names == ["pre", "pieces", "relay"] * 2
    h = x / net.in_scale
    for la in net.layers:
        z = h @ la.weight.T + la.bias
        if la.name.endswith(("/pre", "/relay")):
            assert bool((z > 0).all()), f"{la.name} is not the identity on the calibration points"
        h = z.clamp(min=0)
    with torch.no_grad():
        err = (net.ann(x) - model(x)).abs().max()
    assert float(err) < 2e-2


@pytest.fixture(scope="module")
def tanh_inet():
    model, x = _mlp(nn.Tanh), _points(256)
    net = convert_sigma_delta(model, x, neuron="sigma-delta-relu", pieces=4)
    return model, quantize_relu(net, x, spike_exp=0)


def test_quantized_twin_tracks_the_ann(tanh_inet):
    model, inet = tanh_inet
    x = _points(128, seed=3)
    y = run_pipeline(inet, x[None]).y[0]
    with torch.no_grad():
        ref = model(x)
    rel = float((y - ref).norm() / ref.norm())
    assert rel < 0.05


def _same(a, b) -> bool:
    return (
        torch.equal(a.y, b.y)
        and torch.equal(a.acc, b.acc)
        and all(
            torch.equal(u, v)
            for name in ("messages", "payload_abs", "synops")
            for u, v in zip(getattr(a, name), getattr(b, name), strict=True)
        )
    )


def test_netx_file_equals_twin(tanh_inet, tmp_path):
    pytest.importorskip("lava.lib.dl.netx")
    from exporters.sigma_delta.netx import export_sdnn, run_netx

    _model, inet = tanh_inet
    path = export_sdnn(inet, tmp_path / "tanh.net")
    x = _points(16, seed=4)
    # points one after another, each held until settled
    assert _same(run_netx(path, x), run_pipeline(inet, x[:, None]))
    # a short stream: slowly moving frames, two steps each
    t = torch.linspace(0, 1, 12, dtype=torch.float64)[:, None]
    frames = 0.5 + 0.3 * torch.cat([t, t**2, 1 - t], 1)
    assert _same(run_netx(path, frames, hold=2), run_pipeline(inet, frames[:, None], hold=2))


def test_threshold_beyond_the_chip_names_layer_and_limit(tanh_inet):
    _model, inet = tanh_inet
    la = inet.layers[1]
    sh = la.spike_exp + la.state_exp
    with pytest.raises(
        ValueError, match=rf"layer {la.name}: threshold .*16-bit payload \(max 32767\)"
    ):
        dataclasses.replace(la, vth=np.full(la.n_out, (1 << 16) << sh, np.int64))


def test_payload_beyond_the_chip_names_layer_and_limit(tanh_inet):
    _model, inet = tanh_inet
    x = torch.full((2, 3), 40.0, dtype=torch.float64)  # far outside the calibration range
    with pytest.raises(DeltaRangeError, match=r"layer .*beyond the chip's \d+"):
        run_pipeline(inet, x[None])


def test_resources_native_relu_and_microcode_for_custom_neuron(tanh_inet):
    import warnings

    from exporters.sigma_delta import quantize_delta
    from hardware.delta import delta_resources

    _model, inet = tanh_inet
    rep = delta_resources(inet)
    assert rep.fits and not rep.requirements and rep.chips == 1
    assert rep.neurons == inet.neurons + inet.readout_rows
    model, x = _mlp(nn.Tanh), _points(64)
    custom = quantize_delta(convert_sigma_delta(model, x, neuron="sigma-delta"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = delta_resources(custom)
    assert rep.fits and rep.requirements
    assert all("microcode" in r and "'sigma-delta'" in r for r in rep.requirements)


def test_chip_limits_at_quantization_name_layer_and_limit(tanh_inet):
    model, x = _mlp(nn.Tanh), _points(256)
    net = convert_sigma_delta(model, x, neuron="sigma-delta-relu", pieces=4)
    with pytest.raises(ValueError, match=r"layer .*: threshold .*max \d+"):
        quantize_relu(net, x, vth=[1 << 18] * len(net.layers), bus=False, settle_fix=False)
    with pytest.raises(ValueError, match=r"bus=True needs thresholds <= 2 .*got 3"):
        quantize_relu(net, x, vth=[3] * len(net.layers))
    with pytest.raises(ValueError, match=r"bus=True needs spike_exp <= 1"):
        quantize_relu(net, x, spike_exp=2)
    with pytest.raises(ValueError, match=r"pass refit=True or bus=False"):
        quantize_relu(net, x, refit=False)
    _m, inet = tanh_inet
    la = inet.layers[0]
    sh = la.spike_exp + la.state_exp
    with pytest.raises(ValueError, match=rf"layer {la.name}: bias .*16-bit bias .*max 32767"):
        dataclasses.replace(la, bias=np.full(la.n_out, (1 << 15) << sh, np.int64))


def test_export_refuses_weights_beyond_8_bits_and_writes_nothing(tanh_inet, tmp_path):
    from exporters.sigma_delta.intnet import Synapses
    from exporters.sigma_delta.netx import export_sdnn

    _m, inet = tanh_inet
    path = export_sdnn(inet, tmp_path / "ok.net")
    before = path.read_bytes()
    la = inet.layers[1]
    (w, _e), *_ = la.synapses.groups
    wide = Synapses(((np.where(w != 0, 200, 0), 0),), lava_shift=True)  # a valid Lava Dense
    bad = dataclasses.replace(
        inet, layers=(inet.layers[0], dataclasses.replace(la, synapses=wide), *inet.layers[2:])
    )
    with pytest.raises(ValueError, match=rf"layer {la.name}: file weights .*\[-128, 127\]"):
        export_sdnn(bad, path)
    assert path.read_bytes() == before  # the old file is untouched
    with pytest.raises(ValueError, match="8 bits"):
        export_sdnn(bad, tmp_path / "new.net")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.net"]  # no partial file


def _dense(syn, m: torch.Tensor) -> torch.Tensor:
    """A Lava ``Dense`` with one weight group: ``(W m) << e`` (``>> -e`` for ``e < 0``)."""
    ((w, e),) = syn.groups
    a = m @ torch.tensor(np.array(w)).T
    return a >> -e if e < 0 else a << e


def _floor_arithmetic(inet, x: torch.Tensor) -> torch.Tensor:
    """What a bias-free network computes when every neuron sends once: each layer's messages
    ``floor(relu(W m) / 2**state_exp)``, the readout's sum decoded."""
    m = inet.encode(x)
    for la in inet.layers:
        m = (_dense(la.synapses, m) + torch.tensor(np.array(la.bias))).clamp(min=0)
        m = m >> la.state_exp
    return inet.decode(_dense(inet.output, m))


def test_bus_network_sends_once_and_equals_floor_arithmetic(tanh_inet):
    _model, inet = tanh_inet
    assert inet.bus == 3 and inet.in_width == inet.in_features + 3
    assert all(not np.asarray(la.bias).any() for la in inet.layers)
    x = _points(64, seed=5)
    assert torch.equal(inet.encode(x)[:, 3:], torch.tensor([[1 << 13, 1 << 7, 2]]).expand(64, 3))
    run = run_pipeline(inet, x[None])
    # one wave from the zero start: no neuron sends twice for a held point
    assert all(int(m.max()) <= 1 for m in run.messages)
    assert torch.equal(run.y[0], _floor_arithmetic(inet, x))


def test_bus_weights_carry_any_even_bias_exactly():
    from exporters.sigma_delta.relu_quant import BUS_MSG, W_MAX, bus_weights

    g = np.random.default_rng(0)
    top = W_MAX * BUS_MSG[0]
    b = 2 * g.integers(-top // 2, top // 2, size=500)
    w = bus_weights(b, "L")
    assert np.array_equal(w @ np.array(BUS_MSG), b)
    assert w.min() >= -128 and w.max() <= W_MAX
    with pytest.raises(ValueError, match=rf"layer L: a bias of {top + 8192} .*carry \({top}\)"):
        bus_weights(np.array([top + 8192]), "L")


def test_refit_rows_recovers_a_linear_map_on_its_support():
    from exporters.sigma_delta.relu_quant import refit_rows

    g = np.random.default_rng(1)
    X = g.normal(size=(400, 5))
    beta = np.array([[1.5, 0.0, -2.0, 0.0, 0.25], [0.0, 3.0, 0.0, 0.0, 0.0]])
    c = np.array([0.5, -1.0])
    got, c_got = refit_rows(X, X @ beta.T + c, beta != 0, ridge=0.0)
    assert np.allclose(got, beta, atol=1e-12) and np.allclose(c_got, c, atol=1e-12)
    assert not got[beta == 0].any()


def test_biased_export_without_refit_still_tracks_the_ann():
    model, x = _mlp(nn.Tanh), _points(256)
    net = convert_sigma_delta(model, x, neuron="sigma-delta-relu", pieces=4)
    inet = quantize_relu(net, x, refit=False, bus=False)
    assert inet.bus == 0 and any(np.asarray(la.bias).any() for la in inet.layers)
    xe = _points(128, seed=3)
    y = run_pipeline(inet, xe[None]).y[0]
    with torch.no_grad():
        ref = model(xe)
    assert float((y - ref).norm() / ref.norm()) < 0.05
