"""Lava really running: twin == Lava fixed_pt bit for bit, batched == single point, float models
agree with a torch float simulation, and no worker process outlives a graph."""

from __future__ import annotations

import dataclasses
import time
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from exporters.intnet import IntegerNetwork, random_network
from exporters.runtime import lava_children
from exporters.twin import run_twin
from lava_pinn.neurons import get_neuron

pytest.importorskip("lava.magma.core.process.process")
pytestmark = pytest.mark.lava

lava_graph = pytest.importorskip("exporters.lava_graph")


def _live_children() -> set[int]:
    return lava_children()


@pytest.fixture
def no_leftover_workers():
    before = _live_children()
    yield
    deadline = time.monotonic() + 5
    while _live_children() - before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not (_live_children() - before), "a Lava worker process outlived its graph"


def _assert_same(lava, twin):
    assert np.array_equal(lava.acc, twin.acc)
    assert np.array_equal(lava.y, twin.y)
    assert len(lava.counts) == len(twin.counts)
    for a, b in zip(lava.counts, twin.counts, strict=True):
        assert np.array_equal(a, b)
    for a, b in zip(lava.events, twin.events, strict=True):
        assert np.array_equal(a, b)


def _mixed_network(T: int) -> IntegerNetwork:
    """lif-hard -> graded-if -> if -> signed-if -> readout: every neuron model and every synapse
    kind (binary, multi-level graded, signed graded)."""
    sizes = [3, 7, 6, 6, 5, 2]
    nets = {
        n: random_network(np.random.default_rng(11), sizes, n, T)
        for n in ("lif-hard", "graded-if", "if", "signed-if")
    }
    hidden = (
        nets["lif-hard"].hidden[0],
        nets["graded-if"].hidden[1],
        nets["if"].hidden[2],
        nets["signed-if"].hidden[3],
    )
    return IntegerNetwork(hidden, nets["if"].readout, 1 / 256, 1 / 64, T)


CASES = [
    # (neuron, sizes, T, connection, batch, n_points)
    ("if", [3, 8, 2], 24, "batched", 4, 6),
    ("signed-if", [2, 6, 5, 4, 3], 16, "sparse", 3, 5),
    ("graded-if", [3, 7, 6, 2], 16, "batched", 3, 5),
    ("graded-if", [2, 5, 4, 3], 12, "dense", 2, 3),
    ("lif-hard", [3, 8, 8, 2], 20, "dense", 4, 4),
    ("lif-hard", [3, 6, 6, 6, 2], 16, "batched", 5, 7),
    ("mixed", None, 20, "batched", 4, 6),
]


@pytest.mark.parametrize("neuron,sizes,T,connection,batch,n_points", CASES)
def test_twin_equals_lava_fixed_pt(
    neuron, sizes, T, connection, batch, n_points, no_leftover_workers
):
    if neuron == "mixed":
        net = _mixed_network(T)
    else:
        net = random_network(np.random.default_rng(len(sizes) + T), sizes, neuron, T)
    x = np.random.default_rng(T).uniform(-1, 1, size=(n_points, net.in_features))
    twin = run_twin(net, x)
    assert sum(int(c.sum()) for c in twin.events) > 0, "test network is silent"
    if neuron in ("graded-if", "mixed"):  # some spikes carry more than one quantum
        assert any((c > e).any() for c, e in zip(twin.counts, twin.events, strict=True))
    with lava_graph.build_int_graph(net, batch, connection=connection, timeout_s=120) as g:
        got = g.run(x)
    _assert_same(got, twin)


def test_batched_graph_equals_single_point_graph(no_leftover_workers):
    net = random_network(np.random.default_rng(11), [3, 6, 6, 2], "if", 16)
    x = np.random.default_rng(12).uniform(-1, 1, size=(3, 3))
    with lava_graph.build_int_graph(net, 3, connection="sparse") as g:
        batched = g.run(x)
    with lava_graph.build_int_graph(net, 1, connection="dense") as g:
        single = [g.run(x[i : i + 1]) for i in range(3)]  # one graph, runs reused
    for i, r in enumerate(single):
        assert np.array_equal(r.acc[0], batched.acc[i])
        for a, b in zip(r.counts, batched.counts, strict=True):
            assert np.array_equal(a[0], b[i])


# ------------------------------------------------------------------------------ float models
def _float_layers(rng: np.random.Generator, sizes: list[int], neurons: list[str]):
    hidden = []
    for i, neuron in enumerate(neurons):
        n_in, n_out = sizes[i], sizes[i + 1]
        th = np.full(n_out, 0.8) if neuron == "lif-hard" else rng.uniform(0.5, 1.5, n_out)
        lo = -th if get_neuron(neuron).signed else 0 * th
        hidden.append(SimpleNamespace(
            weight=torch.tensor(rng.normal(0, 1.2 / np.sqrt(n_in), (n_out, n_in))),
            bias=torch.tensor(rng.normal(0.1, 0.2, n_out)),
            neuron=neuron,
            threshold=torch.tensor(th),
            v0=torch.tensor(lo + (th - lo) * rng.uniform(0.05, 0.95, n_out)),
        ))  # fmt: skip
    out = SimpleNamespace(
        weight=torch.tensor(rng.normal(0, 0.5, (sizes[-1], sizes[-2]))),
        bias=torch.tensor(rng.normal(0, 0.1, sizes[-1])),
    )
    return hidden, out


def _float_reference(hidden, out, x: torch.Tensor, T: int):
    """The plain torch float chain (no delays) with the lava_pinn.neurons step functions."""
    v = [la.v0.expand(x.shape[0], -1).clone() for la in hidden]
    counts = [torch.zeros_like(vi) for vi in v]
    acc = torch.zeros(x.shape[0], out.weight.shape[0], dtype=torch.float64)
    first = x @ hidden[0].weight.T + hidden[0].bias
    for _ in range(T):
        cur, s = first, None
        for i, la in enumerate(hidden):
            if i > 0:
                cur = s @ la.weight.T + la.bias
            s, v[i] = get_neuron(la.neuron).step(v[i], cur, la.threshold)
            s = s.to(torch.float64)
            counts[i] += s
        acc += s @ out.weight.T
    return acc / T + out.bias, counts


@pytest.mark.parametrize(
    "neurons,connection",
    [
        (["if", "signed-if", "lif-hard"], "batched"),
        (["lif-hard", "if"], "dense"),
        (["graded-if", "if", "graded-if"], "batched"),
    ],
)
def test_lava_floating_pt_equals_torch_float(neurons, connection, no_leftover_workers):
    rng = np.random.default_rng(len(neurons))
    sizes = [3, *([7] * len(neurons)), 2]
    hidden, out = _float_layers(rng, sizes, neurons)
    T = 20
    x = rng.uniform(-1, 1, size=(5, 3))
    y_ref, counts_ref = _float_reference(hidden, out, torch.tensor(x), T)
    with lava_graph.build_float_graph(hidden, out, T, 3, connection=connection) as g:
        got = g.run(x)
    assert sum(float(c.abs().sum()) for c in counts_ref) > 0
    for a, b in zip(got.counts, counts_ref, strict=True):
        assert np.array_equal(a, b.numpy())
    np.testing.assert_allclose(got.y, y_ref.numpy(), rtol=1e-10, atol=1e-10)


# ------------------------------------------------------------------------------ cleanup paths
def _small_net():
    return random_network(np.random.default_rng(3), [3, 5, 2], "if", 8)


def test_exception_inside_run_leaves_no_worker(monkeypatch, no_leftover_workers):
    g = lava_graph.build_int_graph(_small_net(), 2)
    g.open()
    assert _live_children(), "Lava should have started worker processes"
    calls = {"n": 0}
    real = g._steps

    def failing_steps(n):
        calls["n"] += 1
        real(n)
        raise RuntimeError("boom inside the run")

    monkeypatch.setattr(g, "_steps", failing_steps)
    with pytest.raises(RuntimeError, match="boom"):
        g.run(np.zeros((2, 3)))
    assert calls["n"] == 1
    g.close()  # idempotent after the abort


def test_worker_exception_is_raised_and_cleaned_up(monkeypatch, no_leftover_workers):
    from exporters.lava_procs import models

    def bad_run_spk(self):
        self.a_in.recv()
        raise ValueError("process model failed")

    # Workers are forked after compilation, so they inherit the patched model.
    monkeypatch.setattr(models.PyAccumulatorModelFixed, "run_spk", bad_run_spk)
    from exporters.runtime import LavaRunError

    g = lava_graph.build_int_graph(_small_net(), 2, timeout_s=20)
    with pytest.raises(LavaRunError, match="Exception"):
        with g:
            g.run(np.zeros((2, 3)))


def test_watchdog_stops_a_hanging_run(monkeypatch, no_leftover_workers):
    from exporters.lava_procs import models
    from exporters.runtime import LavaTimeoutError

    real = models.PyAccumulatorModelFixed.run_spk

    def slow_run_spk(self):
        if self.t[0] >= 3:
            time.sleep(3600)
        real(self)

    monkeypatch.setattr(models.PyAccumulatorModelFixed, "run_spk", slow_run_spk)
    g = lava_graph.build_int_graph(_small_net(), 2, timeout_s=4)
    t0 = time.monotonic()
    with pytest.raises(LavaTimeoutError, match="did not finish within 4 s"):
        with g:
            g.run(np.zeros((2, 3)))
    assert time.monotonic() - t0 < 60


# ------------------------------------------------------------------------------ zoo networks
ZOO = [
    # (problem, representation, calibration, neuron): fast conversions at small T; what matters
    # here is the integer network quantize() makes of each zoo PINN, run in Lava and the twin
    ("regression-1d", "pwl", "none", "if"),  # the piecewise-linear (wide) representation
    ("navier-stokes-tg", "direct", "none", "if"),
    ("navier-stokes-tg", "direct", "light", "lif-hard"),
    ("navier-stokes-tg", "direct", "light", "graded-if"),  # multi-level graded spikes
    ("poisson-2d", "direct", "none", "if"),
    ("diffusion-reaction", "direct", "light", "lif-hard"),
    ("kovasznay", "direct", "none", "if"),
    ("burgers-1d", "direct", "none", "if"),
    ("heat-2d-separable", "direct", "none", "if"),  # SPINN: its first axis network
]


@pytest.mark.parametrize("problem,representation,calibration,neuron", ZOO)
def test_twin_equals_lava_on_quantized_zoo_network(
    problem, representation, calibration, neuron, no_leftover_workers
):
    import warnings

    import lava_pinn
    from exporters.quantizer import quantize
    from lava_pinn.checkpoint import load_pretrained
    from lava_pinn.conversion.convert import default_calibration_points

    ck = load_pretrained(problem)
    x = default_calibration_points(ck.problem, ck.problem_params, 32, seed=0)
    snn = lava_pinn.convert(
        ck, x, T=6, representation=representation, calibration=calibration, neuron=neuron
    )
    if hasattr(snn, "axis_nets"):
        snn, x = snn.axis_nets[0], x[:, :1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rounding notes of a deliberately coarse network
        net, _ = quantize(snn, x, search=False)
        pts = x[:4].numpy()
        twin = run_twin(net, pts)
    assert sum(int(e.sum()) for e in twin.events) > 0, "zoo network is silent"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with lava_graph.build_int_graph(net, 4) as g:
            got = g.run(pts)
    _assert_same(got, twin)


@pytest.mark.parametrize(
    "neuron,connection", [("if", "batched"), ("signed-if", "sparse"), ("graded-if", "dense")]
)
def test_twin_equals_lava_with_two_weight_groups(neuron, connection, no_leftover_workers):
    """A fine Dense group per synapse (and readout): two Lava processes into one ``a_in``, each
    shifting and flooring on its own; the twin sums the same way, bit for bit."""
    net = random_network(np.random.default_rng(5), [3, 7, 6, 2], neuron, 16, weight_groups=2)
    assert all(la.fine_weight is not None for la in (*net.hidden[1:], net.readout))
    x = np.random.default_rng(6).uniform(-1, 1, size=(5, net.in_features))
    twin = run_twin(net, x)
    coarse = IntegerNetwork(
        tuple(dataclasses.replace(la, fine_weight=None, fine_exp=None) for la in net.hidden),
        dataclasses.replace(net.readout, fine_weight=None, fine_exp=None),
        net.input_scale,
        net.output_scale,
        net.T,
    )
    assert not np.array_equal(run_twin(coarse, x).acc, twin.acc), "fine groups had no effect"
    with lava_graph.build_int_graph(net, 3, connection=connection, timeout_s=120) as g:
        got = g.run(x)
    _assert_same(got, twin)
