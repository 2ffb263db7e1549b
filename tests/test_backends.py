"""hardware.run on every backend that works here: twin == Lava fixed_pt spike for spike and
therefore energy for energy, hand-computed energies of a tiny network, the Loihi 2 error path,
the resource check before a run, and bad input."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest
import torch

import hardware
from exporters.intnet import IntegerNetwork, IntLayer, IntReadout, random_network
from exporters.runtime import lava_children
from hardware.backends import BACKENDS, BackendUnavailable, get_backend, loihi2_status
from hardware.costing import energy_report, load_activity, save_activity
from hardware.resources import LoihiResourceWarning

T = 8


@pytest.fixture
def no_leftover_workers():
    before = lava_children()
    yield
    deadline = time.monotonic() + 5
    while lava_children() - before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not (lava_children() - before), "a Lava worker process outlived its run"


def hand_network() -> IntegerNetwork:
    """1 -> 2 IF -> 3 IF -> 1, spike counts computable by hand.

    x = 0.5, input_scale 1/256: x_q = 128; layer 0 currents W_0 x_q = (128, 256) per step,
    threshold 512, v0 = 0: neuron 0 fires at steps 4 and 8 (2 spikes), neuron 1 at 2, 4, 6, 8
    (4 spikes). Layer 1 (threshold 2, weight 2) copies neuron 0 and neuron 1 one for one; its
    third neuron has no synapse and stays silent: counts (2, 4, 0).
    """
    z2, z3 = np.zeros(2, dtype=np.int64), np.zeros(3, dtype=np.int64)
    l0 = IntLayer(np.array([[1], [2]]), 0, z2, z2, np.full(2, 512), z2, "if", "layer0")
    w1 = np.array([[2, 0], [0, 2], [0, 0]])
    l1 = IntLayer(w1, 0, z3, z3, np.full(3, 2), z3, "if", "layer1")
    ro = IntReadout(np.array([[2, 2, 2]]), 0, np.zeros(1, dtype=np.int64))
    return IntegerNetwork((l0, l1), ro, 1.0 / 256, 1.0, T)


X_HAND = np.full((2, 1), 0.5)  # two identical samples: totals double, per-sample figures don't


def _quiet_run(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LoihiResourceWarning)  # custom IF neurons: expected
        return hardware.run(*args, **kwargs)


def _check_hand_energy(rep) -> None:
    """NeuroBench counts and energies of hand_network() per sample, worked out by hand.

    layer0: analog input, nnz(W_0) = 2 -> Effective_MACs 2*T = 16, updates 2*T = 16, spikes 6
    layer1: fan-out of each source 1 -> Effective_ACs 2*1 + 4*1 = 6, updates 24, spikes 6
    readout: fan-out 1 each -> Effective_ACs 2 + 4 + 0 = 6, updates 8
    ANN (no conversion metadata: the SNN's sizes 1-2-3-1): 2 + 6 + 3 = 11 MACs.
    """
    ops = rep.ops
    assert [la.effective_macs for la in ops.layers] == [16.0, 0.0, 0.0]
    assert [la.effective_acs for la in ops.layers] == [0.0, 6.0, 6.0]
    assert [la.dense for la in ops.layers] == [16.0, 48.0, 24.0]
    assert [la.neuron_updates for la in ops.layers] == [16.0, 24.0, 8.0]
    assert [la.spikes for la in ops.layers] == [6.0, 6.0, 0.0]
    assert ops.n_samples == 2 and ops.T == T
    assert ops.activation_sparsity == 1 - 12 / (5 * T)
    assert rep.ann.widths == (1, 2, 3, 1) and rep.ann.macs == 11
    cmos = rep.estimate_for("cmos-45nm")
    assert cmos.snn_total_pj == pytest.approx(16 * 4.6 + 12 * 0.9, rel=1e-12)  # 84.4 pJ
    assert cmos.ann_total_pj == pytest.approx(11 * 4.6, rel=1e-12)  # 50.6 pJ
    loihi = rep.estimate_for("loihi")
    syn = 28 * 23.6
    neuron = (16 - 6) * 52 + 6 * 81 + (24 - 6) * 52 + 6 * 81 + 8 * 52
    spike = 12 * (1.7 + 3.5)  # one hop per spike; the readout sends none
    assert loihi.snn_total_pj == pytest.approx(syn + neuron + spike, rel=1e-12)  # 3567.2 pJ
    assert loihi.snn_total_pj == pytest.approx(3567.2, rel=1e-12)
    assert loihi.ann_profile == "cmos-45nm"


@pytest.mark.lava
def test_twin_and_lava_cpu_give_identical_counts_and_energy(no_leftover_workers, tmp_path):
    pytest.importorskip("lava.magma.core.process.process")
    net = hand_network()
    twin = _quiet_run(net, X_HAND, backend="torch-twin")
    lava = _quiet_run(net, X_HAND, backend="lava-cpu", batch=2)
    assert [c.sum(0).tolist() for c in twin.counts] == [[4, 8], [4, 8, 0]]
    for a, b in zip(twin.events, lava.events, strict=True):
        assert np.array_equal(a, b)
    assert np.array_equal(twin.y, lava.y)
    e_twin, e_lava = energy_report(twin), energy_report(lava)
    for p in ("loihi2", "loihi", "cmos-45nm"):
        a, b = e_twin.estimate_for(p), e_lava.estimate_for(p)
        assert a.snn_total_pj == b.snn_total_pj and a.ann_total_pj == b.ann_total_pj
        assert [x.total_pj for x in a.snn_layers] == [x.total_pj for x in b.snn_layers]
    _check_hand_energy(e_lava)
    assert lava.arithmetic == "fixed_pt" and lava.steps == T + 2  # host pipes: no warm-up step
    assert lava.versions["lava-nc"] == "0.10.0" and "torch" in lava.versions
    # the saved activity reproduces the same report
    path = save_activity(lava, tmp_path / "activity_lava-cpu.json")
    again = energy_report(load_activity(path))
    assert again.estimate_for("loihi").snn_total_pj == e_lava.estimate_for("loihi").snn_total_pj


@pytest.mark.lava
def test_signed_spikes_count_as_events_on_both_backends(no_leftover_workers):
    pytest.importorskip("lava.magma.core.process.process")
    net = random_network(np.random.default_rng(27), [3, 6, 5, 2], "signed-if", 12)
    x = np.random.default_rng(5).uniform(-1, 1, size=(3, 3))
    twin = _quiet_run(net, x, backend="torch-twin")
    lava = _quiet_run(net, x, backend="lava-cpu", batch=3, connection="sparse")
    for c, e in zip(twin.counts, twin.events, strict=True):
        assert (e >= np.abs(c)).all()
    assert any((e != np.abs(c)).any() for c, e in zip(twin.counts, twin.events, strict=True))
    for a, b in zip(twin.events, lava.events, strict=True):
        assert np.array_equal(a, b)
    ra, rb = energy_report(twin, profiles=["loihi"]), energy_report(lava, profiles=["loihi"])
    assert ra.estimate_for("loihi").snn_total_pj == rb.estimate_for("loihi").snn_total_pj


def _float_snn(neuron: str):
    from lava_pinn.conversion.network import OutputLayer, SpikingLayer, SpikingNetwork

    g = torch.Generator().manual_seed(3)
    d = torch.float64
    hidden = [
        SpikingLayer(
            torch.randn(5, 2, generator=g, dtype=d),
            torch.full((5,), 0.2, dtype=d),
            neuron,
            torch.full((5,), 0.7, dtype=d),
            torch.zeros(5, dtype=d),
        ),
        SpikingLayer(
            torch.randn(4, 5, generator=g, dtype=d),
            torch.zeros(4, dtype=d),
            neuron,
            torch.full((4,), 0.9, dtype=d),
            torch.zeros(4, dtype=d),
        ),
    ]
    out = OutputLayer(torch.randn(1, 4, generator=g, dtype=d), torch.zeros(1, dtype=d))
    return SpikingNetwork(hidden, out, 16, {"units": [3, 3], "activations": ["tanh", "tanh"]})


@pytest.mark.parametrize("neuron", ["if", "signed-if", "graded-if"])
def test_torch_float_matches_the_simulator_and_counts_events(neuron):
    snn = _float_snn(neuron)
    x = torch.rand(6, 2, dtype=torch.float64) * 2 - 1
    res = hardware.run(snn, x, backend="torch-float")
    y, counts = snn.run(x)
    assert np.array_equal(res.y, y.numpy())
    for a, b, e in zip(res.counts, counts, res.events, strict=True):
        assert np.array_equal(a, b.numpy().astype(np.int64))
        assert (e <= snn.T).all()  # at most one message per step
        if neuron == "graded-if":  # a message carries 1..15 quanta
            assert (e <= a).all() and (a <= 15 * e).all()
        else:  # +1 and -1 spikes cancel in the count, not in the events
            assert (e >= np.abs(a)).all()
    assert res.resources is None and res.arithmetic == "floating_pt"
    # the ANN baseline is the converted network's (units), not the SNN's wider layers
    rep = energy_report(res)
    assert rep.ann.widths == (2, 3, 3, 1)
    assert any("converted from" in a for a in rep.assumptions)


@pytest.mark.lava
def test_lava_cpu_float_runs_the_float_snn(no_leftover_workers):
    pytest.importorskip("lava.magma.core.process.process")
    snn = _float_snn("if")
    x = np.random.default_rng(0).uniform(-1, 1, size=(2, 2))
    res = hardware.run(snn, x, backend="lava-cpu-float", batch=2)
    ref = hardware.run(snn, x, backend="torch-float")
    for a, b in zip(res.events, ref.events, strict=True):
        assert np.array_equal(a, b)
    assert np.allclose(res.y, ref.y, rtol=0, atol=1e-12)


def test_available_reports_every_backend_with_reasons():
    av = hardware.available()
    assert set(av) == {"torch-float", "torch-twin", "lava-cpu", "lava-cpu-float", "loihi2"}
    assert av["torch-twin"] is None and av["torch-float"] is None
    for name, reason in av.items():
        assert reason is None or (isinstance(reason, str) and reason), name


def test_loihi2_error_says_what_is_missing_and_what_to_use():
    ok, reason = loihi2_status()
    if ok:  # pragma: no cover - only with lava-loihi and a board
        pytest.skip("a Loihi 2 board is configured here")
    assert "lava-cpu" in reason
    assert "lava-loihi" in reason or "Lava" in reason
    assert hardware.available()["loihi2"] == reason
    with pytest.raises(BackendUnavailable, match="lava-cpu") as err:
        _quiet_run(hand_network(), X_HAND, backend="loihi2")
    assert "loihi2" in str(err.value)


def test_unknown_backend_lists_the_available_ones():
    with pytest.raises(KeyError, match="lava-cpu.*torch-twin"):
        hardware.run(hand_network(), X_HAND, backend="gpu")
    with pytest.raises(KeyError, match="unknown backend 'gpu'"):
        get_backend("gpu")
    assert len(BACKENDS) == 5


def test_bad_input_errors():
    net = hand_network()
    with pytest.raises(ValueError, match=r"shape \(n_points >= 1, 1\)"):
        _quiet_run(net, np.zeros((2, 3)), backend="torch-twin")
    with pytest.raises(ValueError, match="NaN"):
        _quiet_run(net, np.array([[np.nan]]), backend="torch-twin")
    with pytest.raises(TypeError, match="unknown option.*batchsize"):
        _quiet_run(net, X_HAND, backend="torch-twin", batchsize=3)
    with pytest.raises(ValueError, match="export it first"):
        hardware.run(_float_snn("if"), np.zeros((1, 2)), backend="torch-twin")
    with pytest.raises(ValueError, match="torch-twin"):
        hardware.run(net, X_HAND, backend="torch-float")
    with pytest.raises(TypeError, match="IntegerNetwork, a SpikingNetwork"):
        hardware.run(42, X_HAND, backend="torch-twin")


def test_run_directory_without_network_names_the_command(tmp_path):
    with pytest.raises(FileNotFoundError, match="lava-pinn export"):
        hardware.run(tmp_path, X_HAND, backend="torch-twin")
    with pytest.raises(FileNotFoundError, match="lava-pinn convert"):
        hardware.run(tmp_path, X_HAND, backend="torch-float")


def test_resource_check_before_a_run_flags_fan_in():
    # layer1 takes 5000 inputs: more than the 4096 input axons of a Loihi 2 core
    net = random_network(np.random.default_rng(0), [1, 5000, 2, 1], "lif-hard", 1)
    with pytest.warns(LoihiResourceWarning, match="fan-in 5000"):
        res = hardware.run(net, np.zeros((1, 1)), backend="torch-twin")
    assert not res.resources.fits
    assert any("fan-in 5000" in v for v in res.resources.violations)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no check, no warning
        hardware.run(net, np.zeros((1, 1)), backend="torch-twin", check_resources=False)


@pytest.mark.parametrize("neuron", ["if", "signed-if"])
def test_trace_records_every_spike_and_sums_to_the_counts(neuron):
    """``run(trace=True)``: spikes (n, T, n_l) per layer that sum over steps to the counts; the
    twin's trace is run_twin's, the float one the simulator's (what the ladder compares)."""
    from exporters.twin import run_twin
    from hardware.backends import LoadedNetwork

    snn = _float_snn(neuron)
    x = np.random.default_rng(3).uniform(-1, 1, size=(5, 2))
    out = get_backend("torch-float").run(LoadedNetwork(float_snn=snn), x, trace=True)
    plain = get_backend("torch-float").run(LoadedNetwork(float_snn=snn), x)
    assert np.array_equal(out.y, plain.y) and plain.spikes is None
    for s, c in zip(out.spikes, out.counts, strict=True):
        assert s.shape == (5, snn.T, c.shape[1])
        assert np.array_equal(s.astype(np.int64).sum(axis=1), c)
    net = hand_network()
    tw = get_backend("torch-twin").run(LoadedNetwork(integer=net), X_HAND, trace=True)
    for a, b in zip(tw.spikes, run_twin(net, X_HAND, trace=True).spikes, strict=True):
        assert np.array_equal(a, b)
    assert [int(s.sum()) for s in tw.spikes] == [12, 12]  # 6 spikes per sample and layer
    from hardware.backends import Backend

    untraced = Backend("b", "integer", "fixed_pt", "", (), lambda: (True, ""), None, traces=False)
    with pytest.raises(ValueError, match="cannot record spikes"):
        untraced.run(LoadedNetwork(integer=net), X_HAND, trace=True)
    assert get_backend("loihi2").traces is False


@pytest.mark.lava
def test_lava_cpu_trace_equals_the_twin_trace(no_leftover_workers):
    pytest.importorskip("lava.magma.core.process.process")
    from hardware.backends import LoadedNetwork

    net = LoadedNetwork(integer=hand_network())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LoihiResourceWarning)
        lava = get_backend("lava-cpu").run(net, X_HAND, trace=True, batch=2)
    twin = get_backend("torch-twin").run(net, X_HAND, trace=True)
    for a, b in zip(lava.spikes, twin.spikes, strict=True):
        assert np.array_equal(a, b)
