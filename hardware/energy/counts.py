"""Operation counts per inference (per sample) and per layer, from an :class:`SNNActivity`.

Names and definitions follow NeuroBench (Yik et al., Nature Communications 2025):

* **Effective_ACs** of layer ``k`` (input = spikes of layer ``k-1``, counts ``c_j`` summed over
  samples and steps): ``sum_j c_j * fan_out_k[j] / n_samples``. Binary (or +-1) activations make
  accumulates.
* **Effective_MACs**: the analog first layer (direct encoding) multiplies every input component
  by every nonzero weight each step: ``nnz(W_1) * T`` per sample (``nnz(W_1)`` if the constant
  current ``W_1 x`` is computed once and held, ``analog_every_step=False``). Input components are
  taken as nonzero, so this is ``n_in * n_out * T`` for a dense ``W_1``.
* **Dense**: every connection active every step: ``n_in * n_out * T``.
* **activation sparsity**: ``1 - spikes / (spiking neurons * T)`` per sample.
* Neuron updates (NeuroBench "membrane updates"): ``n_out * T`` per layer, spiking and output
  neurons alike; the *active* ones are the neuron-steps with a spike.
* Spikes: spikes emitted per sample; each is one message to the next layer.

Graded (sigma-delta) networks are counted in :class:`DeltaLayerOps` / :class:`DeltaOps`: a
neuron sends an integer payload as one message, and each message delivered over one synapse is
one graded synaptic op (an integer multiply weight x payload, then an accumulate)::

    synops_k = sum_j messages_{k-1}[j] * fan_out_k[j]      (per inference / per point)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields

import numpy as np

from hardware.activity import SNNActivity
from lava_pinn.validation import check_count, check_real


def effective_synaptic_ops(input_counts: np.ndarray, fan_out: np.ndarray) -> float:
    """``sum_j input_counts[j] * fan_out[j]``: synaptic events caused by the input events."""
    return float(np.dot(np.asarray(input_counts, float), np.asarray(fan_out, float)))


@dataclass(frozen=True)
class LayerOps:
    """Operation counts of one layer, per inference (one sample, all ``T`` steps)."""

    name: str
    neuron: str
    input_kind: str
    n_in: int
    n_out: int
    synapses: int
    effective_acs: float
    effective_macs: float
    dense: float
    neuron_updates: float
    active_updates: float
    spikes: float
    firing_rate: float  # spikes per neuron per step (0 for the output layer)

    @property
    def synaptic_ops(self) -> float:
        """Effective synaptic operations: ``Effective_ACs + Effective_MACs``."""
        return self.effective_acs + self.effective_macs

    def to_dict(self) -> dict:
        d = asdict(self)
        d["synaptic_ops"] = self.synaptic_ops
        return d


@dataclass(frozen=True)
class OperationCounts:
    """Per-layer counts of one run, per inference, with the run's ``T`` and sample count."""

    layers: tuple[LayerOps, ...]
    T: int
    n_samples: int
    activation_sparsity: float
    analog_every_step: bool
    source: str = "unspecified"

    def total(self, field: str) -> float:
        return float(sum(getattr(la, field) for la in self.layers))

    def totals(self) -> dict[str, float]:
        keys = (
            "effective_acs",
            "effective_macs",
            "synaptic_ops",
            "dense",
            "neuron_updates",
            "active_updates",
            "spikes",
        )
        return {k: self.total(k) for k in keys}

    def to_dict(self) -> dict:
        return {
            "T": self.T,
            "n_samples": self.n_samples,
            "source": self.source,
            "analog_every_step": self.analog_every_step,
            "activation_sparsity": self.activation_sparsity,
            "synaptic_operations": {
                "Effective_MACs": self.total("effective_macs"),
                "Effective_ACs": self.total("effective_acs"),
                "Dense": self.total("dense"),
            },
            "totals": self.totals(),
            "layers": [la.to_dict() for la in self.layers],
        }


def count_operations(activity: SNNActivity, *, analog_every_step: bool = True) -> OperationCounts:
    """Count operations per inference for every layer of ``activity`` (see module docstring)."""
    if not isinstance(activity, SNNActivity):
        raise TypeError(f"activity must be an SNNActivity, got {type(activity).__name__}")
    T, n = activity.T, activity.n_samples
    layers = []
    for k, la in enumerate(activity.layers):
        if la.input_kind == "analog":
            acs = 0.0
            macs = float(la.nonzeros) * (T if analog_every_step else 1)
        else:
            acs = effective_synaptic_ops(activity.spike_counts[k - 1], la.fan_out) / n
            macs = 0.0
        counts = activity.spike_counts[k]
        spikes = 0.0 if counts is None else float(counts.sum()) / n
        layers.append(
            LayerOps(
                name=la.name,
                neuron=la.neuron,
                input_kind=la.input_kind,
                n_in=la.n_in,
                n_out=la.n_out,
                synapses=la.nonzeros,
                effective_acs=acs,
                effective_macs=macs,
                dense=float(la.n_in * la.n_out * T),
                neuron_updates=float(la.n_out * T),
                active_updates=spikes,
                spikes=spikes,
                firing_rate=spikes / (la.n_out * T),
            )
        )
    return OperationCounts(
        layers=tuple(layers),
        T=T,
        n_samples=n,
        activation_sparsity=activity.activation_sparsity(),
        analog_every_step=bool(analog_every_step),
        source=activity.source,
    )


_DELTA_COUNTS = ("messages", "synops", "binary_synops", "neuron_updates")
_DELTA_BITS = ("payload_bits", "weight_bits", "acc_bits")
_SLACK = 1e-9  # relative slack of the upper-bound checks (counts are averages of floats)


@dataclass(frozen=True, kw_only=True)
class DeltaLayerOps:
    """Operation counts of one layer of a graded-spike (sigma-delta) network, per inference.

    All counts are per inference (one evaluation point), over all ``steps`` steps:

    * ``messages``: graded messages sent INTO this layer's synapses, i.e. by the layer before
      (for the first layer, by the input encoder); each carries a ``payload_bits`` integer.
    * ``synops``: graded synaptic ops, ``sum_j messages[j] * fan_out[j]`` over the synapses
      actually delivered to (each one integer multiply weight x payload plus an accumulate).
    * ``binary_synops``: synaptic ops driven by binary spikes, for mixed networks (default 0).
    * ``neuron_updates``: neuron-steps evaluated in this layer.
    * ``weight_bits`` / ``payload_bits`` / ``acc_bits``: operand and accumulator widths.

    Fields are keyword-only. Bounds checked (``ValueError`` naming the field): counts finite
    and ``>= 0``; widths, ``n_in``, ``n_out``, ``steps`` integers ``>= 1``;
    ``0 <= synapses <= n_in * n_out``;
    ``messages <= n_in * steps`` (at most one message per neuron and step);
    ``synops <= messages * min(n_out, synapses)`` (the largest possible fan-out);
    ``synops + binary_synops <= synapses * steps`` (one event per synapse and step);
    ``neuron_updates <= n_out * steps``.
    """

    name: str
    n_in: int
    n_out: int
    synapses: int
    messages: float
    synops: float
    binary_synops: float = 0.0
    neuron_updates: float
    payload_bits: int
    weight_bits: int
    acc_bits: int = 24
    steps: int
    group: int = 1  # > 1: a further weight group of the layer before it (a parallel Dense)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"DeltaLayerOps.name must be a non-empty string, got {self.name!r}")
        where = f"DeltaLayerOps({self.name})"
        for f in ("n_in", "n_out", "steps", *_DELTA_BITS):
            object.__setattr__(self, f, check_count(getattr(self, f), f"{where}.{f}"))
        synapses = check_count(self.synapses, f"{where}.synapses", low=0)
        if synapses > self.n_in * self.n_out:
            raise ValueError(
                f"{where}.synapses={synapses} must be <= n_in * n_out = {self.n_in * self.n_out}"
            )
        object.__setattr__(self, "synapses", synapses)
        for f in _DELTA_COUNTS:
            object.__setattr__(self, f, check_real(getattr(self, f), f"{where}.{f}", low=0.0))
        fan_out = min(self.n_out, self.synapses)
        events = self.synops + self.binary_synops
        for f, v, bound, what in (
            ("messages", self.messages, self.n_in * self.steps, "n_in * steps (one per step)"),
            ("synops", self.synops, self.messages * fan_out, "messages * min(n_out, synapses)"),
            ("synops + binary_synops", events, self.synapses * self.steps, "synapses * steps"),
            ("neuron_updates", self.neuron_updates, self.n_out * self.steps, "n_out * steps"),
        ):
            if v > bound * (1 + _SLACK):
                raise ValueError(f"{where}.{f}={v:g} must be <= {what} = {bound:g}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class DeltaOps:
    """Per-layer graded-spike counts of one network, per inference (see :class:`DeltaLayerOps`).

    ``layers`` must chain (``n_in`` of a layer = ``n_out`` of the one before, or the same
    shape as the one before with ``group > 1``: a further weight group of that layer) and
    have distinct names; a list is accepted and stored as a tuple.
    """

    layers: tuple[DeltaLayerOps, ...]
    source: str = "unspecified"

    def __post_init__(self) -> None:
        if isinstance(self.layers, (str, bytes)) or not isinstance(self.layers, Sequence):
            raise TypeError(
                f"DeltaOps.layers must be a sequence of DeltaLayerOps, got {self.layers!r}"
            )
        layers = tuple(self.layers)
        if not layers:
            raise ValueError("DeltaOps.layers must hold at least one DeltaLayerOps")
        for k, la in enumerate(layers):
            if not isinstance(la, DeltaLayerOps):
                raise TypeError(
                    f"DeltaOps.layers[{k}] must be a DeltaLayerOps, got {type(la).__name__}"
                )
            prev = layers[k - 1] if k else None
            parallel = (
                prev is not None and la.group > 1 and (la.n_in, la.n_out) == (prev.n_in, prev.n_out)
            )
            if k and la.n_in != prev.n_out and not parallel:  # parallel: a second weight group
                raise ValueError(
                    f"DeltaOps.layers[{k}] ({la.name}).n_in={la.n_in} must equal "
                    f"layers[{k - 1}] ({layers[k - 1].name}).n_out={layers[k - 1].n_out}"
                )
        names = [la.name for la in layers]
        if len(set(names)) != len(names):
            raise ValueError(f"DeltaOps.layers need distinct names, got {names}")
        if not isinstance(self.source, str):
            raise TypeError(f"DeltaOps.source must be a string, got {self.source!r}")
        object.__setattr__(self, "layers", layers)

    def total(self, field: str) -> float:
        """Sum of one count over the layers (``messages``, ``synops``, ...)."""
        known = {f.name for f in fields(DeltaLayerOps)} - {"name"}
        if field not in known:
            raise ValueError(f"DeltaOps.total: unknown field {field!r}; known: {sorted(known)}")
        return float(math.fsum(getattr(la, field) for la in self.layers))

    def totals(self) -> dict[str, float]:
        """Totals per inference of ``messages``, ``synops``, ``binary_synops``,
        ``neuron_updates``."""
        return {k: self.total(k) for k in _DELTA_COUNTS}

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "totals": self.totals(),
            "layers": [la.to_dict() for la in self.layers],
        }
