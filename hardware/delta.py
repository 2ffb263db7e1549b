"""What a sigma-delta network costs: operation counts of a twin or Lava run
(:class:`~exporters.sigma_delta.DeltaRun`) as :class:`~hardware.energy.DeltaOps`, priced
under energy profiles beside the ANN in FP32 and INT8.

Per point (static: each point held from the rest state until settled, ``depth + 2`` steps on a
pipelined chip; streaming: per lane and frame, one step per frame), layer ``l``'s synapses
receive ``messages[l-1]`` graded messages (the input encoder's for the first layer) and perform
``synops[l-1]`` multiply-adds (8-bit weight x payload, accumulated at the width the group's
largest possible sum needs, :meth:`~exporters.sigma_delta.Synapses.sum_bits` over
:meth:`~exporters.sigma_delta.IntDeltaNetwork.message_max`, never below 24 bits); each weight
group is its own row (a Dense of its own: ``name/group2``), so a second group's ops are priced,
not hidden; its neurons are evaluated ``n_l x steps`` times.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from exporters.sigma_delta import DeltaRun, IntDeltaNetwork
from hardware.activity import ANNSpec
from hardware.energy import DELTA_PROFILES, DeltaLayerOps, DeltaOps, estimate_delta
from hardware.energy.estimate import EnergyEstimate

WEIGHT_BITS = 8
ACC_BITS_MIN = 24  # a graded op's accumulate is priced at least at Loihi 2's 24-bit state


def static_steps(net: IntDeltaNetwork) -> int:
    """Steps a pipelined chip holds a point until the readout has settled: one per Dense on
    the way (``depth + 1``) plus the encoder's own."""
    return len(net.layers) + 2


def delta_ops(
    net: IntDeltaNetwork, run: DeltaRun, *, steps: int, per: float | None = None
) -> DeltaOps:
    """Counts per point of ``run`` (``per``: what to divide the totals by; default the run's
    lanes, i.e. per point; a stream passes ``lanes * frames`` for per point-frame)."""
    per = float(run.lanes if per is None else per)
    syn = [la.synapses for la in net.layers] + [net.output]
    sizes = [net.in_width] + [la.n_out for la in net.layers] + [net.readout_rows]
    names = [la.name for la in net.layers] + ["readout"]
    msg_max = net.message_max()
    layers = []
    for i, s in enumerate(syn):
        acc = s.sum_bits(msg_max[i])
        n_out = sizes[i + 1]
        pay = net.layers[max(i - 1, 0)].payload_bits
        sent = run.messages[i].sum(0).to(torch.float64).numpy()  # per input neuron
        for g, (w, _e) in enumerate(s.groups):
            fan = (w != 0).sum(0)
            layers.append(
                DeltaLayerOps(
                    name=names[i] if g == 0 else f"{names[i]}/group{g + 1}",
                    n_in=sizes[i],
                    n_out=n_out,
                    synapses=int((w != 0).sum()),
                    messages=float(sent.sum()) / per,
                    synops=float(sent @ fan) / per,
                    neuron_updates=float(n_out * steps) if g == 0 else 0.0,
                    payload_bits=pay,
                    weight_bits=WEIGHT_BITS,
                    acc_bits=max(ACC_BITS_MIN, acc[g]),
                    steps=steps,
                    group=g + 1,
                )
            )
    return DeltaOps(tuple(layers), source="twin")


def ann_spec(net: IntDeltaNetwork, activation: str = "tanh") -> ANNSpec:
    return ANNSpec(
        (net.in_features, *(la.n_out for la in net.layers), net.out_features), activation
    )


def delta_energy(
    net: IntDeltaNetwork, ops: DeltaOps, profiles: Sequence[str] = DELTA_PROFILES
) -> list[EnergyEstimate]:
    """``ops`` priced under each profile, the ANN (FP32 and INT8 at 45 nm) beside it."""
    ann = ann_spec(net)
    return [estimate_delta(ops, ann, p) for p in profiles]


def delta_resources(net: IntDeltaNetwork):
    """The Loihi 2 resource check of a deployed sigma-delta network
    (:func:`hardware.resources.check_network`): every weight group is a Dense of 8-bit weights
    (a layer's synapses counted over its groups); a neuron model Loihi 2 does not run natively
    (``sigma-delta``) is listed as needing custom microcode, and synaptic sums wider than
    :data:`ACC_BITS_MIN` bits as a note."""
    import warnings

    from hardware.resources import LoihiResourceWarning, check_network

    syns = [la.synapses for la in net.layers] + [net.output]
    ws, neurons, names = [], [], []
    for i, s in enumerate(syns):
        w = np.sum([np.abs(g) > 0 for g, _ in s.groups], axis=0).astype(np.int64)
        ws.append(w)
        neurons.append(net.layers[i].neuron if i < len(net.layers) else "output")
        names.append(net.layers[i].name if i < len(net.layers) else "readout")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LoihiResourceWarning)
        report = check_network(ws, 8, neurons, names=names, analog_input=False)
    mm = net.message_max()
    acc = max(b for i, s in enumerate(syns) for b in s.sum_bits(mm[i]))
    if acc > ACC_BITS_MIN:
        note = (
            f"synaptic sums need up to {acc}-bit accumulators (8-bit weights x payloads of up "
            f"to {max(int(m.max()) for m in mm).bit_length() + 1} bits over the fan-in); Lava's "
            f"CPU models hold any width, a chip's dendritic accumulator may hold "
            f"{ACC_BITS_MIN}: energy is priced at the needed width"
        )
        report = replace(report, notes=(*report.notes, note))
    return report


DELTA_BACKENDS = ("torch-twin", "lava-cpu")


@dataclass(frozen=True)
class DeltaRunResult:
    """One run of a sigma-delta network (``hardware.run`` on an
    :class:`~exporters.sigma_delta.IntDeltaNetwork`): outputs, the twin's or Lava's
    :class:`~exporters.sigma_delta.DeltaRun`, and its cost per point (static) or per
    point-frame (stream)."""

    backend: str
    stream: bool
    y: np.ndarray
    run: DeltaRun
    wall_s: float

    @property
    def per(self) -> float:
        return float(self.run.lanes * (self.run.frames if self.stream else 1))

    @property
    def messages_per_point(self) -> float:
        return float(sum(m.sum() for m in self.run.messages)) / self.per

    def synops_per_point(self) -> dict[str, float]:
        """Synaptic ops per point (per point-frame when streaming): all graded
        (weight x payload multiply-adds), none binary."""
        g = float(sum(s.sum() for s in self.run.synops)) / self.per
        return {"binary": 0.0, "graded": g, "analog": 0.0}


def run_delta(
    net: IntDeltaNetwork,
    inputs,
    backend: str = "torch-twin",
    *,
    stream: bool = False,
    record: list[int] | None = None,
    **options,
) -> DeltaRunResult:
    """Static points ``(n, n_in)`` or, with ``stream=True``, frames ``(K, lanes, n_in)`` run
    without reset on ``backend`` (``torch-twin`` or ``lava-cpu``)."""
    from exporters.sigma_delta import run_static, run_stream

    if backend not in DELTA_BACKENDS:
        raise ValueError(
            f"backend {backend!r} does not run sigma-delta networks; use one of {DELTA_BACKENDS}"
        )
    x = inputs if isinstance(inputs, torch.Tensor) else torch.as_tensor(np.asarray(inputs))
    t0 = time.perf_counter()
    if backend == "torch-twin":
        r = run_stream(net, x, record=record) if stream else run_static(net, x, **options)
    else:
        from exporters.sigma_delta.lava_graph import run_lava_static, run_lava_stream

        if stream:
            r = run_lava_stream(net, x, record=record, **options)
        else:
            r = run_lava_static(net, x, **options)
    return DeltaRunResult(backend, stream, r.y.numpy(), r, time.perf_counter() - t0)
