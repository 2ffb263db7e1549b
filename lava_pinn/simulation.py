"""The one simulation loop of a spiking chain, shared by the float simulator
(:mod:`lava_pinn.conversion.network`), the fine-tuning surrogate and the integer twin
(:mod:`exporters.twin`): they differ in arithmetic (what a synapse and a neuron step compute),
not in the loop. The twin and the Lava graphs return one result type,
:class:`lava_pinn.runs.SpikeRun`.

Per step ``k = 1..T`` for every hidden layer ``i`` in order (no synaptic delay: the Lava graph's
one-step Dense latency is accounted for by giving each layer its own window):

    a_i = drive          (layer 0: a constant current, or a per-step input train)
    a_i = synapse_i(s_{i-1})                                                   (i > 0)
    s_i, state_i = step_i(state_i, a_i, bias_i, threshold_i)
    count_i += s_i;  messages_i += [s_i != 0];  acc += readout(s_{L-1})
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

Step = Callable[[tuple, Any, Any, Any], tuple[Any, tuple]]


@dataclass(frozen=True)
class LayerRun:
    """One hidden layer as the loop runs it.

    ``step(state, a, bias, threshold) -> (s, state)``; ``state0``: the per-neuron initial state
    (a tuple of ``(n_l,)`` tensors, broadcast over points); ``synapse(s_prev) -> a`` (``None``
    for the first layer, which takes the drive); ``messages``: count steps with ``s != 0``
    (else the caller reads messages from the counts).
    """

    step: Step
    bias: Any
    threshold: Any
    state0: tuple
    synapse: Callable[[torch.Tensor], Any] | None
    n_out: int
    messages: bool = False


def float_step(step: Callable) -> Step:
    """A float neuron ``step(v, current, threshold)`` in the loop's form; ``current = a + bias``
    (``a`` alone when ``bias`` is ``None``)."""

    def run(state: tuple, a, bias, threshold):
        s, v = step(state[0], a if bias is None else a + bias, threshold)
        return s, (v,)

    return run


def run_chain(
    layers: Sequence[LayerRun],
    T: int,
    *,
    drive: torch.Tensor | None = None,
    inputs: torch.Tensor | None = None,
    readout: Callable[[torch.Tensor], torch.Tensor] | None = None,
    spike_dtype: torch.dtype,
    chunk: int,
    record: Sequence[int] = (),
) -> tuple[torch.Tensor | None, list[torch.Tensor], list[torch.Tensor | None], dict]:
    """Run ``layers`` for ``T`` steps on the points of ``drive`` (``(n, n_0)``: the first
    layer's constant input current) or of ``inputs`` (``(T, n, n_in)``: a spike train fed
    through the first layer's synapse), ``chunk`` points at a time.

    Returns ``(acc, counts, events, trains)``: ``acc`` the summed ``readout(s)`` of the last
    layer (``None`` without a readout); ``counts[i]`` ``(n, n_i)`` in ``spike_dtype``;
    ``events[i]`` (or ``None`` where ``messages`` is off); ``trains[i]`` ``(T, n, n_i)`` int8
    for each ``i`` in ``record``.
    """
    src = drive if drive is not None else inputs
    n = src.shape[0] if drive is not None else src.shape[1]
    parts = []
    for lo in range(0, max(n, 1), chunk):
        d = drive[lo : lo + chunk] if drive is not None else None
        x = inputs[:, lo : lo + chunk] if inputs is not None else None
        parts.append(_run(layers, T, d, x, readout, spike_dtype, record))
    acc = torch.cat([p[0] for p in parts]) if readout is not None else None
    L = len(layers)
    counts = [torch.cat([p[1][i] for p in parts]) for i in range(L)]
    events = [torch.cat([p[2][i] for p in parts]) if layers[i].messages else None for i in range(L)]
    trains = {i: torch.cat([p[3][i] for p in parts], 1) for i in record}
    return acc, counts, events, trains


def _run(layers, T, drive, inputs, readout, dt, record):
    n = drive.shape[0] if drive is not None else inputs.shape[1]
    state = [tuple(s0.expand(n, -1).clone() for s0 in la.state0) for la in layers]
    counts = [torch.zeros(n, la.n_out, dtype=dt) for la in layers]
    msgs = [torch.zeros(n, la.n_out, dtype=dt) if la.messages else None for la in layers]
    trains = {i: torch.zeros(T, n, layers[i].n_out, dtype=torch.int8) for i in record}
    acc = None
    with torch.no_grad():
        for t in range(T):
            s = None
            for i, la in enumerate(layers):
                if i > 0:
                    a = la.synapse(s)
                elif drive is not None:
                    a = drive
                else:
                    a = la.synapse(inputs[t].to(dt))
                s, state[i] = la.step(state[i], a, la.bias, la.threshold)
                s = s.to(dt)
                counts[i] += s
                if msgs[i] is not None:
                    msgs[i] += s != 0
                if i in trains:
                    trains[i][t] = s.to(torch.int8)
            if readout is not None:
                r = readout(s)
                acc = r if acc is None else acc + r
    return acc, counts, msgs, trains
