"""A neuron model defined entirely in this file, with no change to any package file: registered,
converted, quantized, run on Lava's ``fixed_pt`` simulator, and equal (``==``) to the twin.

The model is a leaky soft-reset integrate-and-fire neuron:

* float: ``v <- v - v / 16 + I;  s = [v >= V];  v <- v - s V``;
* integer: ``v <- sat24(v - (v >> 4) + a + bias);  s = [v >= th];  v <- v - s th``
  (``>>`` floors, so the integer leak is ``floor(v / 16)``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from lava_pinn.neurons import NEURONS, NeuronModel, register_neuron
from lava_pinn.neurons.model import at_least, saturate

NAME = "leaky-soft-if-test"


def leaky_step(v, current, threshold):
    v = v - v / 16 + current
    s = v >= threshold
    return s, v - s * threshold


def leaky_int_step(state, a, bias, threshold):
    (v,) = state
    v = saturate(v - (v >> 4) + (a + bias))
    s = at_least(v, threshold)
    return s, (v - s * threshold,)


LEAKY = NeuronModel(
    name=NAME,
    description="leaky IF (leak 1/16 per step), soft reset, spikes >= 0",
    step=leaky_step,
    int_step=leaky_int_step,
    exact_on_floats=False,  # >> is an integer shift
)


@pytest.fixture
def leaky():
    register_neuron(LEAKY)
    yield LEAKY
    NEURONS.unregister(NAME)


def _ann() -> nn.Sequential:
    torch.manual_seed(3)
    return nn.Sequential(
        nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 1)
    ).double()


def test_registered_model_is_looked_up_and_refused_twice(leaky):
    assert NEURONS.get(NAME) is leaky and NAME in NEURONS.available()
    with pytest.raises(ValueError, match="already registered"):
        register_neuron(LEAKY)


def test_leaky_neuron_float_step_closed_form(leaky):
    """A constant current of 1 from v = 0 with threshold 10: v_k = 16 (1 - (15/16)^k) before the
    first spike, which comes at k = 16 (v_15 = 9.92, v_16 = 10.30)."""
    v = torch.zeros(1, dtype=torch.float64)
    th = torch.full((1,), 10.0, dtype=torch.float64)
    for k in range(1, 30):
        s, v = leaky.step(v, torch.ones(1, dtype=torch.float64), th)
        if bool(s):
            break
        assert float(v) == pytest.approx(16 * (1 - (15 / 16) ** k), rel=1e-12)
    assert k == 16


@pytest.mark.lava
def test_plugin_neuron_converts_quantizes_and_runs_on_lava_equal_to_twin(leaky):
    pytest.importorskip("lava.magma.core.process.process")
    import exporters
    from exporters.lava_graph import build_int_graph
    from exporters.twin import run_twin
    from lava_pinn.conversion import convert

    x = torch.rand(256, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 2 - 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        snn = convert(_ann(), x, T=16, neuron=NAME, calibration="light", representation="direct")
        assert {la.neuron for la in snn.hidden} == {NAME}
        net, _ = exporters.quantize(snn, x, search=False)
    assert {la.neuron for la in net.hidden} == {NAME}
    pts = x[:12].numpy()
    twin = run_twin(net, pts)
    assert sum(int(np.abs(c).sum()) for c in twin.counts) > 0, "the network must spike"
    with build_int_graph(net, batch=6) as g:
        assert all(slot.proc.proc_params["neuron"] == NAME for slot in g.slots)
        lava = g.run(pts)
    assert np.array_equal(lava.acc, twin.acc)
    assert np.array_equal(lava.y, twin.y)
    for i in range(net.depth):
        assert np.array_equal(lava.counts[i], twin.counts[i]), f"layer {i} counts"
        assert np.array_equal(lava.events[i], twin.events[i]), f"layer {i} events"
