"""Build a Lava process graph for ``batch`` evaluation points side by side.

Graph for ``L`` hidden layers (per point; ``batch`` points are laid out point-major in flat
populations of ``batch * n_l`` neurons):

    bias currents (W_0 x + b_0, direct encoding) -> neurons_0 -> conn_1 -> neurons_1 -> ...
        -> neurons_{L-1} -> conn_out -> Accumulator (readout)

``conn`` is one synapse process per weight group (a layer with a ``fine_weight`` has two, both
into the same ``a_in``, where Lava adds them), each one of :data:`CONNECTIONS`: ``"dense"``
(Lava ``Dense``, block-diagonal ``kron(I_batch, W)``), ``"sparse"`` (Lava ``Sparse``, same
matrix in CSR) or ``"batched"`` (:class:`exporters.lava_procs.BatchDense`, the same semantics
without the big matrix).

Pipeline latency: a Dense delivers at ``t+1`` what it received at ``t``, so hidden layer ``i``
(0-based) sees its first input at step ``i+1``; every layer therefore runs in the window
``[i+1, i+T]``, the readout in ``[L+1, L+T]``, and a batch takes ``T + L`` steps. Custom neurons
and accumulators enforce their window themselves; when every layer is custom, the first layer
receives each batch's bias currents from the host through a pipe and every layer and the readout
send their counts back through one at the end of their window (whole arrays: ``Var.get`` and
``Var.set`` move one element per message). Lava's LIF cannot, so for LIF layers
``i >= 1`` the host switches the bias on at step ``i+1`` (run split into segments) and an
:class:`~exporters.lava_procs.Accumulator` counts their spikes inside the window.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix

from exporters._lava import require_lava
from exporters.intnet import IntegerNetwork
from exporters.runtime import LavaGraph, NeuronSlot
from lava_pinn.neurons import NEURONS
from lava_pinn.validation import check_count, check_T

CONNECTIONS = ("batched", "sparse", "dense")


def _custom(neuron: str) -> bool:
    """Whether the model runs as the registry-built :class:`~exporters.lava_procs.Neuron`
    (``lava="custom"``) rather than Lava's own LIF."""
    return NEURONS.get(neuron).lava == "custom"


def _procs():
    return require_lava("exporters.lava_procs")


def _connection(kind: str, weights: np.ndarray, weight_exp: int, batch: int, graded: bool):
    if kind == "batched":
        return _procs().BatchDense(
            batch=batch, weights=weights, weight_exp=weight_exp, num_message_bits=8 * graded
        )
    block = np.kron(np.eye(batch, dtype=weights.dtype), weights)
    if kind == "dense":
        dense = require_lava("lava.proc.dense.process")
        return dense.Dense(weights=block, weight_exp=weight_exp, num_message_bits=8 * graded)
    if kind == "sparse":
        sparse = require_lava("lava.proc.sparse.process")
        return sparse.Sparse(
            weights=csr_matrix(block), weight_exp=weight_exp, num_message_bits=8 * graded
        )
    raise ValueError(f"connection must be one of {CONNECTIONS}, got {kind!r}")


def _connect(src: Any, dst: Any, desc: dict, connection: str, batch: int) -> list[Any]:
    """One synapse process per weight group of ``desc["groups"]``, from ``src.s_out`` to
    ``dst.a_in`` (Lava adds the inputs an InPort receives from several OutPorts)."""
    conns = []
    for w, e in desc["groups"]:
        conn = _connection(connection, w, e, batch, desc["graded"])
        src.s_out.connect(conn.s_in)
        conn.a_out.connect(dst.a_in)
        conns.append(conn)
    return conns


def _check_batch(batch: int, connection: str) -> int:
    batch = check_count(batch, "batch")
    if connection not in CONNECTIONS:
        raise ValueError(f"connection must be one of {CONNECTIONS}, got {connection!r}")
    return int(batch)


def _tile(a: Any, batch: int) -> np.ndarray:
    return np.tile(np.asarray(a), batch)


def _assemble(
    layers: list[dict],
    out: dict,
    T: int,
    batch: int,
    connection: str,
    tag: str,
    encode,
    decode,
    timeout_s: float,
) -> LavaGraph:
    """Wire processes from per-layer descriptions (shared by the integer and float builders)."""
    lif_mod = require_lava("lava.proc.lif.process")
    procs = _procs()
    L = len(layers)
    period = T + L
    # All-custom graphs exchange whole arrays with the host through pipes (bias in, counts out);
    # graphs with Lava's LIF keep the Var path (its bias gating needs Var writes anyway).
    host_io = all(_custom(la["neuron"]) for la in layers)
    slots: list[NeuronSlot] = []
    conns: list[Any] = []
    prev = None
    for i, la in enumerate(layers):
        n = la["n"]
        name = f"layer{i}"
        v0 = _tile(la["v0"], batch)
        model = NEURONS.get(la["neuron"])
        if model.lava == "custom":
            proc = procs.Neuron(
                shape=(batch * n,),
                neuron=model.name,
                v0=v0,
                bias=_tile(la["bias"], batch),
                vth=_tile(la["threshold"], batch),
                t_start=i + 1,
                t_end=i + T,
                period=period,
                host_bias=host_io and i == 0,
                report=host_io,
                name=name,
            )
            slot = NeuronSlot(proc, "custom", n, v0, _tile(la["bias"], batch), graded=model.graded)
        else:  # Lava LIF, hardware native
            bias = _tile(la["bias"], batch)
            bias_exp = None if la.get("bias_exp") is None else _tile(la["bias_exp"], batch)
            kwargs = {} if bias_exp is None else {"bias_exp": bias_exp}
            proc = lif_mod.LIF(
                shape=(batch * n,),
                u=0,
                v=v0,
                du=la["du"],
                dv=la["dv"],
                bias_mant=bias if i == 0 else np.zeros_like(bias),
                vth=la["vth"],
                name=name,
                **kwargs,
            )
            counter = procs.Accumulator(
                shape=(batch * n,), t_start=i + 1, t_end=i + T, period=period, name=f"count{i}"
            )
            proc.s_out.connect(counter.a_in)
            slot = NeuronSlot(proc, "lif", n, v0, bias, bias_exp, counter, gated=i > 0)
        if prev is not None:
            conns += _connect(prev, proc, la, connection, batch)
        slots.append(slot)
        prev = proc
    n_out = out["groups"][0][0].shape[0]
    readout = procs.Accumulator(
        shape=(batch * n_out,),
        t_start=L + 1,
        t_end=L + T,
        period=period,
        report=host_io,
        name="readout",
    )
    conns += _connect(prev, readout, out, connection, batch)
    return LavaGraph(
        slots, conns, readout, T, batch, tag, encode, decode, n_out, timeout_s, host_io=host_io
    )


def build_int_graph(
    net: IntegerNetwork,
    batch: int = 16,
    *,
    connection: str = "batched",
    timeout_s: float = 120.0,
) -> LavaGraph:
    """The ``fixed_pt`` Lava graph of an :class:`IntegerNetwork` for ``batch`` points per run.

    ``graph.run(x)`` returns a :class:`~lava_pinn.runs.SpikeRun` equal, bit for bit, to
    :func:`exporters.twin.run_twin`. Remember ``graph.close()`` (or use ``with``).
    """
    batch = _check_batch(batch, connection)
    layers = []
    for i, la in enumerate(net.hidden):
        d = {
            "n": la.n_out,
            "neuron": la.neuron,
            "v0": la.v0,
            "threshold": la.threshold,
            "groups": la.groups,
            "graded": i > 0 and net.graded_input(i),
        }
        if la.spec.lava == "custom":
            d["bias"] = la.bias
        else:
            du, dv = la.spec.lif_decay
            d.update(
                bias=la.bias_mant,
                bias_exp=la.bias_exp,
                vth=int(la.threshold[0]),
                du=du,
                dv=dv,
            )
        layers.append(d)
    ro = net.readout
    out = {"groups": ro.groups, "graded": net.graded_input(net.depth)}
    custom_first = net.hidden[0].spec.lava == "custom"

    def encode(x: np.ndarray):
        mant, exp = net.encode_input(x)
        return mant, (None if custom_first else exp)

    return _assemble(
        layers, out, net.T, batch, connection, "fixed_pt", encode, net.decode, timeout_s
    )


def build_float_graph(
    hidden: Sequence[Any],
    output: Any,
    T: int,
    batch: int = 16,
    *,
    connection: str = "batched",
    timeout_s: float = 120.0,
) -> LavaGraph:
    """The ``floating_pt`` Lava graph of a float spiking chain (``lava_pinn`` layers).

    ``hidden``: objects with ``weight (n_out, n_in)``, ``bias``, ``neuron``, ``threshold``,
    ``v0`` (torch tensors or numpy arrays); ``output``: ``weight``, ``bias``. The first layer's
    current ``W_0 x + b_0`` is applied as a bias; ``y = acc / T + b_out``. Lava's LIF takes one
    threshold per layer, so ``"lif-hard"`` layers need a uniform threshold.
    """
    batch = _check_batch(batch, connection)
    T = check_T(T, "T")

    def f64(t: Any) -> np.ndarray:
        t = t.detach().cpu().numpy() if hasattr(t, "detach") else t
        return np.asarray(t, dtype=np.float64)

    layers = []
    for i, la in enumerate(hidden):
        th = f64(la.threshold)
        d = {
            "n": int(f64(la.weight).shape[0]),
            "neuron": la.neuron,
            "v0": f64(la.v0),
            "threshold": th,
            "groups": ((f64(la.weight), 0),),
            "graded": i > 0 and NEURONS.get(hidden[i - 1].neuron).graded,
            "bias": f64(la.bias),
        }
        if not _custom(la.neuron):
            if (th != th[0]).any():
                raise ValueError(
                    f"hidden[{i}].threshold: Lava's LIF has one threshold per layer, got "
                    f"{len(np.unique(th))} distinct values"
                )
            d.update(vth=float(th[0]), du=1.0, dv=0.0, bias_exp=None)
        layers.append(d)
    w0, b0 = f64(hidden[0].weight), f64(hidden[0].bias)
    b_out = f64(output.bias)
    out = {
        "groups": ((f64(output.weight), 0),),
        "graded": NEURONS.get(hidden[-1].neuron).graded,
    }

    def encode(x: np.ndarray):
        return x @ w0.T + b0, None

    def decode(acc: np.ndarray) -> np.ndarray:
        return acc / T + b_out

    return _assemble(layers, out, T, batch, connection, "floating_pt", encode, decode, timeout_s)
