"""Lava really running the sigma-delta graph: Lava ``fixed_pt`` == the integer twin, bit for bit
(outputs, accumulators, messages and payloads of every population), static and streamed, and
no worker process outlives a graph."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from torch import nn

from exporters.runtime import lava_children
from exporters.sigma_delta import quantize_delta, run_static, run_stream
from lava_pinn.activations import Sin
from lava_pinn.sigma_delta import convert_sigma_delta

pytest.importorskip("lava.magma.core.process.process")
pytestmark = pytest.mark.lava

sd_lava = pytest.importorskip("exporters.sigma_delta.lava_graph")


@pytest.fixture
def no_leftover_workers():
    before = lava_children()
    yield
    deadline = time.monotonic() + 5
    while lava_children() - before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not (lava_children() - before), "a Lava worker process outlived its graph"


@pytest.fixture(scope="module")
def ns():
    from lava_pinn.checkpoint import load_pretrained

    net = convert_sigma_delta(load_pretrained("navier-stokes-tg"))
    return quantize_delta(net, weight_groups=2, payload_bits=16)


def _ns_points(n: int, seed: int) -> torch.Tensor:
    from lava_pinn.conversion.convert import default_calibration_points

    return default_calibration_points("navier-stokes-tg", {"nu": 1.0}, n, seed)


def _assert_same(lava, twin) -> None:
    assert torch.equal(lava.y, twin.y)
    assert torch.equal(lava.acc, twin.acc)
    assert lava.frames == twin.frames
    for name in ("messages", "payload_abs", "synops"):
        a, b = getattr(lava, name), getattr(twin, name)
        assert len(a) == len(b)
        for i, (u, v) in enumerate(zip(a, b, strict=True)):
            assert torch.equal(u, v), f"{name}[{i}] differs"


def test_ns_static_equals_twin(ns, no_leftover_workers):
    x = _ns_points(32, seed=1)
    lava = sd_lava.run_lava_static(ns, x, lanes=16, timeout_s=120)  # two batches: reset works
    twin = run_static(ns, x)
    _assert_same(lava, twin)
    assert lava.steps == 2 * (len(ns.layers) + 2)
    assert all(int(m.sum()) > 0 for m in lava.messages)  # every population sent something


def test_ns_stream_equals_twin(ns, no_leftover_workers):
    K = 20
    xy = _ns_points(4, seed=2)[:, :2]
    t = torch.linspace(0.0, 1.0, K, dtype=torch.float64)
    frames = torch.cat([xy.expand(K, -1, -1), t[:, None, None].expand(K, 4, 1)], dim=2)
    frames[8] = frames[7]  # a repeated frame: no input change, the twin skips it
    lava = sd_lava.run_lava_stream(ns, frames, timeout_s=120)
    twin = run_stream(ns, frames)
    assert twin.steps == K - 1
    assert lava.steps == K + len(ns.layers) + 1
    _assert_same(lava, twin)
    assert lava.y.shape == (K, 4, 3)
    assert torch.equal(lava.y[8], lava.y[7])
    part = sd_lava.run_lava_stream(ns, frames, record=[0, 13, 19], timeout_s=120)
    assert torch.equal(part.y, twin.y[[0, 13, 19]])


def _random_inet(act: nn.Module, seed: int):
    """A seeded random 2-12-10-2 MLP with ``act``, converted on random calibration points and
    quantized with 1 weight group; returns ``(inet, generator)``."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, 12), act, nn.Linear(12, 10), act, nn.Linear(10, 2))
    g = torch.Generator().manual_seed(seed)
    cal = torch.rand(256, 2, generator=g, dtype=torch.float64) * 4 - 2
    return quantize_delta(convert_sigma_delta(model.double(), cal), weight_groups=1), g


# ReLU's kink keeps its table from reaching the interpolation target: quantize_delta says so
@pytest.mark.filterwarnings("ignore:layer .*activation table stops:UserWarning")
@pytest.mark.parametrize(
    ("act", "seed"),
    [(Sin(), 1), (nn.ReLU(), 2), (nn.Softplus(), 3), (nn.GELU(), 4)],
    ids=["sin", "relu", "softplus", "gelu"],
)
def test_random_mlp_static_equals_twin(act, seed, no_leftover_workers):
    inet, g = _random_inet(act, seed)
    assert set(inet.weight_groups) == {1}
    x = torch.rand(24, 2, generator=g, dtype=torch.float64) * 4 - 2
    lava = sd_lava.run_lava_static(inet, x, lanes=24, timeout_s=120)
    _assert_same(lava, run_static(inet, x))


def test_watchdog_stops_a_hanging_run(monkeypatch, no_leftover_workers):
    from exporters.lava_procs import models
    from exporters.runtime import LavaTimeoutError

    real = models.PyDeltaReadoutModelFixed.run_spk

    def slow_run_spk(self):
        if self.t[0] >= 2:
            time.sleep(3600)
        real(self)

    # Workers are forked after compilation, so they inherit the patched model.
    monkeypatch.setattr(models.PyDeltaReadoutModelFixed, "run_spk", slow_run_spk)
    inet, _ = _random_inet(nn.Tanh(), 0)
    t0 = time.monotonic()
    with pytest.raises(LavaTimeoutError, match="did not finish within 4 s"):
        sd_lava.run_lava_static(inet, torch.zeros(2, 2, dtype=torch.float64), timeout_s=4)
    assert time.monotonic() - t0 < 60


def test_batch_dense_carries_graded_payloads_like_dense(no_leftover_workers):
    """BatchDense == Lava's own Dense fixed_pt with 16-bit graded messages and weight_exp
    -8, 0, 3 (floor shifts, int32 channel)."""
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.dense.process import Dense
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source

    from exporters.lava_procs import BatchDense

    rng = np.random.default_rng(5)
    n_in, n_out, T = 7, 5, 10
    src = Source(data=rng.integers(-30000, 30000, (n_in, T)) * (rng.random((n_in, T)) < 0.6))
    sinks = []
    for e in (-8, 0, 3):
        w = 2 * rng.integers(-128, 128, (n_out, n_in))
        for conn in (
            Dense(weights=w, weight_exp=e, num_message_bits=16),
            BatchDense(batch=1, weights=w, weight_exp=e, num_message_bits=16),
        ):
            sink = Sink(shape=(n_out,), buffer=T)
            src.s_out.connect(conn.s_in)
            conn.a_out.connect(sink.a_in)
            sinks.append(sink)
    try:
        src.run(condition=RunSteps(num_steps=T), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        got = [s.data.get() for s in sinks]
    finally:
        src.stop()
    for dense, batch in zip(got[::2], got[1::2], strict=True):
        assert np.array_equal(dense, batch)
        assert np.abs(dense).max() > 0


def test_bad_arguments(ns):
    with pytest.raises(ValueError, match="record holds frame indices"):
        sd_lava.run_lava_stream(ns, _ns_points(4, 0)[None], record=[1])
    with pytest.raises(ValueError, match="frames must have shape"):
        sd_lava.run_lava_stream(ns, torch.zeros(2, 3, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="lanes"):
        sd_lava.run_lava_static(ns, _ns_points(4, 0), lanes=0)
