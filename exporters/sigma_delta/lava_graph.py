"""The Lava ``fixed_pt`` graph of an :class:`~exporters.sigma_delta.intnet.IntDeltaNetwork`,
equal (``==``) to the integer twin (:mod:`exporters.sigma_delta.twin`).

Graph, for ``lanes`` points (or streams) side by side (every population flat, lane-major):

    DeltaSource -> [BatchDense x groups] -> DeltaNeuron_1 -> ... -> DeltaNeuron_L
        -> [BatchDense x groups] -> DeltaReadout

:class:`~exporters.lava_procs.DeltaSource` sends the encoder's change of code per frame,
:class:`~exporters.lava_procs.DeltaNeuron` is the ``sigma-delta`` neuron
(:func:`lava_pinn.neurons.sigma_delta.int_step`), each weight group ``(W_g, e_g)`` of a
:class:`~exporters.sigma_delta.intnet.Synapses` is one :class:`~exporters.lava_procs.BatchDense`
(Lava's ``Dense`` semantics with graded payloads, ``num_message_bits`` = the sending layer's
payload width) into the same InPort, where Lava adds the groups;
:class:`~exporters.lava_procs.DeltaReadout` integrates from ``inet.out_rest``.

Timing: the source sends frame ``k`` (0-based) at Lava step ``k + 1``; each Dense delays one
step, so layer ``l`` (1-based) sees it at step ``k + 1 + l`` and the readout at
``k + depth + 2``. The twin is not pipelined; with zero input a sigma-delta neuron does nothing
(``delta`` is its residue, already below threshold), so the Lava chain computes the twin's
sequence of messages shifted in time. A batch of ``K`` frames therefore runs
``K + depth + 1`` steps (``depth + 1`` flush steps after the last frame); frame ``k``'s output
is the readout at step ``k + depth + 2``. Static points are batches of one frame
(``depth + 2`` steps); every batch starts from the rest state (the processes reset at step 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from exporters._lava import require_lava
from exporters.runtime import LavaSession
from exporters.sigma_delta.intnet import IntDeltaNetwork
from exporters.sigma_delta.twin import DeltaRun
from lava_pinn.validation import check_count

DEFAULT_LANES = 256
SUPPORTED_NEURONS = ("sigma-delta",)


@dataclass
class DeltaGraph(LavaSession):
    """A compiled sigma-delta graph for batches of ``frames`` frames over ``lanes`` lanes; build
    it with :func:`build_delta_graph`, run batches with :meth:`run_batch`, then :meth:`close`
    (or use ``with``)."""

    net: IntDeltaNetwork
    source: object
    neurons: list
    conns: list
    readout: object
    lanes: int
    frames: int
    record: tuple[int, ...]  # frame indices whose output the readout keeps
    timeout_s: float = 120.0
    tag: str = "fixed_pt"

    @property
    def depth(self) -> int:
        return len(self.neurons)

    @property
    def steps_per_batch(self) -> int:
        """``frames + depth + 1`` Lava steps: the frames plus the pipeline's flush."""
        return self.frames + self.depth + 1

    def run_batch(self, codes: np.ndarray) -> dict:
        """Run one batch of encoder codes ``(frames, lanes, n_in)`` (int64) from the rest state.

        Returns ``trace`` ``(len(record), lanes, n_out)`` (the readout at each recorded frame),
        ``acc`` ``(lanes, n_out)`` (after the flush) and per sending population (the encoder
        first) ``messages`` and ``payload_abs`` ``(lanes, n_l)``, all int64."""
        net, n = self.net, self.lanes
        want = (self.frames, n, net.in_width)
        if codes.shape != want:
            raise ValueError(f"codes must have shape {want}, got {codes.shape}")
        self.open()
        self._send(self.source.codes_in, codes, "codes")
        self._steps(self.steps_per_batch)
        sizes = [net.in_width] + [la.n_out for la in net.layers]
        msgs, pay = [], []
        for i, (proc, m) in enumerate(zip([self.source, *self.neurons], sizes, strict=True)):
            a, b = self._receive(proc, f"counts[{i}]")
            msgs.append(a.reshape(n, m))
            pay.append(b.reshape(n, m))
        rows = self._receive_array(self.readout, "readout").reshape(-1, n, net.out_features)
        trace = rows[:-1][: len(self.record)]
        return {"trace": trace, "acc": rows[-1], "messages": msgs, "payload_abs": pay}


def _tile(a: np.ndarray, lanes: int) -> np.ndarray:
    return np.tile(np.asarray(a, dtype=np.int64), lanes)


def build_delta_graph(
    net: IntDeltaNetwork,
    *,
    lanes: int,
    frames: int = 1,
    record: tuple[int, ...] | list[int] = (0,),
    timeout_s: float = 120.0,
) -> DeltaGraph:
    """The ``fixed_pt`` graph of ``net`` for batches of ``frames`` frames over ``lanes`` lanes,
    keeping the readout at the frames in ``record`` (0-based frame indices)."""
    if not isinstance(net, IntDeltaNetwork):
        raise TypeError(f"net must be an IntDeltaNetwork, got {type(net).__name__}")
    bad = [la.neuron for la in net.layers if la.neuron not in SUPPORTED_NEURONS]
    if bad:
        raise ValueError(
            f"the sigma-delta Lava graph runs {SUPPORTED_NEURONS} layers, got {bad[0]!r}; "
            "quantize a network converted with neuron='sigma-delta'; a 'sigma-delta-relu' "
            "network runs in lava-dl netx (exporters.sigma_delta.export_sdnn, run_netx)"
        )
    lanes = int(check_count(lanes, "lanes"))
    frames = int(check_count(frames, "frames"))
    record = tuple(int(r) for r in record)
    out_of_range = [r for r in record if not 0 <= r < frames]
    if out_of_range:
        raise ValueError(
            f"record holds frame indices outside [0, {frames - 1}]: {out_of_range[:5]}"
        )
    procs = require_lava("exporters.lava_procs")
    depth = len(net.layers)
    period = frames + depth + 1
    source = procs.DeltaSource(
        shape=(lanes * net.in_width,), frames=frames, period=period, name="encoder"
    )
    conns: list = []

    def connect(src, dst, synapses, payload_bits: int) -> None:
        for w, e in synapses.groups:
            fine = e < 0  # the fine group's raw sums go to a_fine, added exactly there
            conn = procs.BatchDense(
                batch=lanes, weights=w, weight_exp=0 if fine else e, num_message_bits=payload_bits
            )
            src.s_out.connect(conn.s_in)
            conn.a_out.connect(dst.a_fine if fine else dst.a_in)
            conns.append(conn)

    neurons = []
    prev, prev_bits = source, net.layers[0].payload_bits
    for i, (la, (sigma, act, rem)) in enumerate(zip(net.layers, net.rest, strict=True)):
        proc = procs.DeltaNeuron(
            shape=(lanes * la.n_out,),
            sigma=_tile(sigma, lanes),
            act=_tile(act, lanes),
            rem=_tile(rem, lanes),
            bias=_tile(la.bias, lanes),
            vth=_tile(la.vth, lanes),
            lo=_tile(la.lo, lanes),
            shift=_tile(la.shift, lanes),
            sum_shift=_tile(la.sum_shift, lanes),
            table=np.asarray(la.table, dtype=np.int64),
            period=period,
            name=la.name or f"layer{i + 1}",
        )
        connect(prev, proc, la.synapses, prev_bits)
        neurons.append(proc)
        prev, prev_bits = proc, la.payload_bits
    # a step no batch reaches (0) stands in for an empty record: Lava Vars are not empty
    record_at = [r + depth + 2 for r in record] or [0]
    readout = procs.DeltaReadout(
        shape=(lanes * net.out_features,),
        acc0=_tile(net.out_rest, lanes),
        record_at=record_at,
        period=period,
        name="readout",
    )
    connect(prev, readout, net.output, prev_bits)
    return DeltaGraph(net, source, neurons, conns, readout, lanes, frames, record, timeout_s)


def _run(
    net: IntDeltaNetwork, codes: np.ndarray, lanes: int, record: tuple[int, ...], timeout_s: float
) -> DeltaRun:
    """``codes`` ``(K, n, n_in)``: the lanes ``n`` in chunks of ``lanes`` through one graph."""
    K, n, _ = codes.shape
    parts = []
    with build_delta_graph(net, lanes=lanes, frames=K, record=record, timeout_s=timeout_s) as graph:
        for lo in range(0, n, lanes):
            chunk = codes[:, lo : lo + lanes]
            k = chunk.shape[1]
            if k < lanes:  # idle lanes at input 0 stay at rest and send nothing
                pad = np.zeros((K, lanes - k, net.in_width), dtype=np.int64)
                chunk = np.concatenate([chunk, pad], axis=1)
            out = graph.run_batch(np.ascontiguousarray(chunk))
            parts.append(
                {
                    "trace": out["trace"][:, :k],
                    "acc": out["acc"][:k],
                    "messages": [m[:k] for m in out["messages"]],
                    "payload_abs": [p[:k] for p in out["payload_abs"]],
                }
            )
        steps = graph.steps_per_batch * len(parts)
    t = torch.from_numpy

    def cat(key: str, i: int) -> torch.Tensor:
        return t(np.concatenate([p[key][i] for p in parts]))

    acc = t(np.concatenate([p["acc"] for p in parts]))
    trace = t(np.concatenate([p["trace"] for p in parts], axis=1))
    L = len(net.layers) + 1
    msgs = [cat("messages", i) for i in range(L)]
    pay = [cat("payload_abs", i) for i in range(L)]
    syn_list = [la.synapses for la in net.layers] + [net.output]
    fan = [t(np.array(s.fan_out(), dtype=np.int64)) for s in syn_list]
    synops = [(m * f).sum(1) for m, f in zip(msgs, fan, strict=True)]
    y = net.decode(trace) if trace.shape[0] else torch.zeros(0, n, net.out_features)
    return DeltaRun(y.to(torch.float64), acc, msgs, pay, synops, K, steps)


def run_lava_static(
    net: IntDeltaNetwork, x: torch.Tensor, *, lanes: int = DEFAULT_LANES, timeout_s: float = 120.0
) -> DeltaRun:
    """Every point of ``x`` ``(n, n_in)`` from the rest state on Lava ``fixed_pt``, held for
    ``depth + 2`` steps, ``lanes`` points side by side per batch (one graph, compiled once).

    Returns what :func:`exporters.sigma_delta.twin.run_static` returns, value for value
    (``y`` ``(n, n_out)``, ``acc``, ``messages``, ``payload_abs``, ``synops``), except
    ``steps``: here the Lava time steps run (``depth + 2`` per batch). ``timeout_s``: the
    watchdog limit of each runtime call (compile, one batch, ...) in seconds."""
    from lava_pinn.conversion.network import check_points

    x, _ = check_points(x, net.in_features, torch.float64)
    lanes = min(int(check_count(lanes, "lanes")), x.shape[0])
    codes = net.encode(x).numpy()[None]
    run = _run(net, codes, lanes, (0,), timeout_s)
    return DeltaRun(run.y[0], run.acc, run.messages, run.payload_abs, run.synops, 1, run.steps)


def run_lava_stream(
    net: IntDeltaNetwork,
    frames: torch.Tensor,
    *,
    record: list[int] | None = None,
    timeout_s: float = 120.0,
) -> DeltaRun:
    """``frames`` ``(K, lanes, n_in)`` in order without reset on Lava ``fixed_pt`` (all lanes in
    one graph, ``K + depth + 1`` steps); outputs kept at the frames in ``record`` (default:
    every frame).

    Returns what :func:`exporters.sigma_delta.twin.run_stream` returns, value for value,
    except ``steps``: here the Lava time steps run (the twin counts the frames it did not
    skip). ``timeout_s``: the watchdog limit of each runtime call, in seconds (the whole
    stream is one call)."""
    if not isinstance(frames, torch.Tensor) or frames.ndim != 3:
        raise ValueError(
            f"frames must be a (frames, lanes, {net.in_features}) tensor, got "
            f"{getattr(frames, 'shape', type(frames).__name__)}"
        )
    if frames.shape[2] != net.in_features or 0 in frames.shape[:2]:
        raise ValueError(
            f"frames must have shape (frames >= 1, lanes >= 1, {net.in_features}), got "
            f"{tuple(frames.shape)}"
        )
    if not bool(torch.isfinite(frames).all()):
        k = int((~torch.isfinite(frames)).any(2).any(1).nonzero()[0])
        raise ValueError(f"frame {k} holds NaN or inf values; pass finite frames")
    K, n, _ = frames.shape
    record = list(range(K)) if record is None else [int(r) for r in record]
    codes = net.encode(frames).numpy()
    return _run(net, codes, n, tuple(record), timeout_s)
