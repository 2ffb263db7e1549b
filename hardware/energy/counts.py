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
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from hardware.activity import SNNActivity


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
