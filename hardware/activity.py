"""Measured activity of one spiking run, and the ANN it was converted from, as plain numbers.

A run of the converted network is a chain of dense layers. Layer ``k`` has a weight matrix
``W_k`` of shape ``(n_out, n_in)``; its input is either the analog point ``x`` (the first layer,
direct encoding: ``W_1 x + b_1`` every step) or the spikes of layer ``k-1``; its ``n_out``
neurons are spiking (a model of :mod:`lava_pinn.neurons`) or the non-spiking integrating output
(``neuron = "output"``).

:class:`SNNActivity` holds what a backend measured: spike counts per neuron, summed over all
samples and all ``T`` time steps, together with each layer's static description
(:class:`LayerSpec`: sizes, the fan-out of every source neuron, the neuron model). Signed spikes
(+1/-1) are counted as events: ``|s|``. Nothing here depends on how the counts were produced; the
torch twin, the Lava CPU backend or a Loihi 2 board fill the same record through
:meth:`SNNActivity.from_arrays`.

:class:`ANNSpec` describes the ANN baseline (layer widths and, optionally, weight nonzeros).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lava_pinn.neurons import available
from lava_pinn.validation import check_count

OUTPUT = "output"  # the non-spiking integrating output layer
INPUT_KINDS = ("analog", "spikes")


def _known_neurons() -> list[str]:
    return [*available(), OUTPUT]


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a, copy=True)
    a.setflags(write=False)
    return a


def _counts(value: object, name: str, shape: tuple[int, ...]) -> np.ndarray:
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of numbers, got {type(value).__name__}") from None
    if a.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {a.shape}")
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise ValueError(f"{name} must hold finite, non-negative counts; pass |spikes| summed")
    return _readonly(a)


def weight_groups(weight: object, where: str) -> tuple[np.ndarray, ...]:
    """A weight matrix ``(n_out, n_in)`` or a tuple/list of equal-shape ones, as numpy arrays."""
    items = list(weight) if isinstance(weight, (tuple, list)) else [weight]
    ws = [np.asarray(w.detach().cpu() if hasattr(w, "detach") else w) for w in items]
    if not ws or any(w.ndim != 2 for w in ws):
        raise ValueError(
            f"{where} weight must be 2-D (n_out, n_in) or a tuple of such weight groups, got "
            f"shapes {[w.shape for w in ws]}"
        )
    if any(w.shape != ws[0].shape for w in ws):
        raise ValueError(f"{where} weight groups differ in shape: {[w.shape for w in ws]}")
    return tuple(ws)


@dataclass(frozen=True, eq=False)
class LayerSpec:
    """Static description of one dense layer: ``n_out`` neurons fed by ``n_in`` sources.

    ``fan_out[j]`` is the number of synapses leaving source ``j`` in this layer, i.e. the number
    of nonzero entries of column ``j`` of ``W`` (``n_out`` everywhere for a dense matrix; pass
    ``None`` for that; a synapse of ``groups`` Dense weight groups, see
    :class:`exporters.intnet.IntLayer`, has up to ``groups * n_out``). ``neuron`` is a model
    name of :mod:`lava_pinn.neurons` or ``"output"``; ``input_kind`` is ``"analog"`` (direct
    encoding of ``x``) or ``"spikes"``.
    """

    name: str
    n_in: int
    n_out: int
    neuron: str
    input_kind: str = "spikes"
    fan_out: np.ndarray | None = None
    weight_bits: int | None = None
    groups: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"LayerSpec.name must be a non-empty string, got {self.name!r}")
        n_in = check_count(self.n_in, f"LayerSpec({self.name}).n_in")
        n_out = check_count(self.n_out, f"LayerSpec({self.name}).n_out")
        groups = check_count(self.groups, f"LayerSpec({self.name}).groups")
        object.__setattr__(self, "groups", groups)
        object.__setattr__(self, "n_in", n_in)
        object.__setattr__(self, "n_out", n_out)
        if self.neuron not in _known_neurons():
            raise ValueError(
                f"LayerSpec({self.name}).neuron {self.neuron!r} is unknown; "
                f"use one of {', '.join(_known_neurons())}"
            )
        if self.input_kind not in INPUT_KINDS:
            raise ValueError(
                f"LayerSpec({self.name}).input_kind must be one of {INPUT_KINDS}, "
                f"got {self.input_kind!r}"
            )
        fo = np.full(n_in, n_out, dtype=np.float64) if self.fan_out is None else self.fan_out
        fo = _counts(fo, f"LayerSpec({self.name}).fan_out", (n_in,))
        if np.any(fo > groups * n_out) or np.any(fo != np.round(fo)):
            raise ValueError(
                f"LayerSpec({self.name}).fan_out must hold integers in [0, groups * n_out = "
                f"{groups * n_out}] (nonzeros per column of the weight matrices)"
            )
        object.__setattr__(self, "fan_out", fo)
        if self.weight_bits is not None:
            object.__setattr__(
                self,
                "weight_bits",
                check_count(self.weight_bits, f"LayerSpec({self.name}).weight_bits"),
            )

    @classmethod
    def from_weight(
        cls,
        name: str,
        weight: object,
        neuron: str,
        input_kind: str = "spikes",
        weight_bits: int | None = None,
    ) -> LayerSpec:
        """Build from a weight matrix of shape ``(n_out, n_in)`` (numpy or torch), or a tuple
        of such matrices: the weight groups of one synapse (their synapses add up)."""
        ws = weight_groups(weight, f"LayerSpec({name})")
        return cls(
            name=name,
            n_in=ws[0].shape[1],
            n_out=ws[0].shape[0],
            neuron=neuron,
            input_kind=input_kind,
            fan_out=sum(np.count_nonzero(w, axis=0) for w in ws),
            weight_bits=weight_bits,
            groups=len(ws),
        )

    @property
    def spiking(self) -> bool:
        return self.neuron != OUTPUT

    @property
    def nonzeros(self) -> int:
        """Number of synapses (nonzero weights): ``sum_j fan_out[j]``."""
        return int(self.fan_out.sum())


@dataclass(frozen=True, eq=False)
class SNNActivity:
    """What one run measured, for ``n_samples`` points and ``T`` time steps each.

    ``spike_counts[k]`` (shape ``(layers[k].n_out,)``) is the number of spikes each neuron of
    layer ``k`` emitted, summed over samples and steps; ``None`` for the non-spiking output layer.
    Layer ``k > 0`` receives the spikes of layer ``k - 1``, so its sizes must chain.
    """

    layers: tuple[LayerSpec, ...]
    spike_counts: tuple[np.ndarray | None, ...]
    n_samples: int
    T: int
    source: str = "unspecified"

    def __post_init__(self) -> None:
        layers = tuple(self.layers)
        if not layers or not all(isinstance(la, LayerSpec) for la in layers):
            raise TypeError("SNNActivity.layers must be a non-empty sequence of LayerSpec")
        object.__setattr__(self, "layers", layers)
        object.__setattr__(self, "n_samples", check_count(self.n_samples, "SNNActivity.n_samples"))
        object.__setattr__(self, "T", check_count(self.T, "SNNActivity.T"))
        for k in range(1, len(layers)):
            prev, cur = layers[k - 1], layers[k]
            if cur.n_in != prev.n_out:
                raise ValueError(
                    f"SNNActivity.layers do not chain: {cur.name}.n_in={cur.n_in} but "
                    f"{prev.name}.n_out={prev.n_out}"
                )
            if cur.input_kind != "spikes":
                raise ValueError(
                    f"SNNActivity.layers[{k}] ({cur.name}) must take 'spikes' as input; only the "
                    "first layer can be fed the analog point"
                )
            if not prev.spiking:
                raise ValueError(
                    f"SNNActivity.layers[{k - 1}] ({prev.name}) is the non-spiking output layer; "
                    "it must be the last layer"
                )
        counts = tuple(self.spike_counts)
        if len(counts) != len(layers):
            raise ValueError(
                f"SNNActivity.spike_counts needs one entry per layer ({len(layers)}), "
                f"got {len(counts)}"
            )
        checked: list[np.ndarray | None] = []
        max_per_neuron = self.n_samples * self.T
        for la, c in zip(layers, counts, strict=True):
            if not la.spiking:
                if c is not None and np.any(np.asarray(c) != 0):
                    raise ValueError(
                        f"SNNActivity.spike_counts for the output layer {la.name} must be None"
                    )
                checked.append(None)
                continue
            if c is None:
                raise ValueError(f"SNNActivity.spike_counts for {la.name} is missing (got None)")
            a = _counts(c, f"SNNActivity.spike_counts[{la.name}]", (la.n_out,))
            if np.any(a > max_per_neuron):
                raise ValueError(
                    f"SNNActivity.spike_counts[{la.name}] exceeds n_samples*T={max_per_neuron} "
                    "for some neuron: a neuron fires at most once per step"
                )
            checked.append(a)
        object.__setattr__(self, "spike_counts", tuple(checked))
        if not isinstance(self.source, str):
            raise TypeError(f"SNNActivity.source must be a string, got {self.source!r}")

    @classmethod
    def from_arrays(
        cls,
        weights: Sequence[object],
        neurons: str | Sequence[str],
        spike_counts: Sequence[object | None],
        n_samples: int,
        T: int,
        *,
        names: Sequence[str] | None = None,
        weight_bits: int | Sequence[int | None] | None = None,
        analog_input: bool = True,
        source: str = "unspecified",
    ) -> SNNActivity:
        """Build from weight matrices ``(n_out, n_in)`` and per-neuron spike counts.

        ``neurons`` is one model name for all hidden layers (the last layer is taken as the
        non-spiking output) or one name per layer. ``spike_counts`` has one entry per layer
        (``None`` for the output); a ``(n_samples, T, n_out)`` or ``(T, n_out)`` spike array is
        summed for you (absolute values: signed spikes count as events).
        """
        n = len(weights)
        if isinstance(neurons, str):
            neurons = [neurons] * (n - 1) + [OUTPUT]
        if len(neurons) != n:
            raise ValueError(f"neurons needs one name per layer ({n}), got {len(neurons)}")
        names = list(names) if names is not None else [f"layer{k + 1}" for k in range(n)]
        if isinstance(weight_bits, int) or weight_bits is None:
            weight_bits = [weight_bits] * n
        layers = tuple(
            LayerSpec.from_weight(
                names[k],
                w,
                neurons[k],
                "analog" if (k == 0 and analog_input) else "spikes",
                weight_bits[k],
            )
            for k, w in enumerate(weights)
        )
        counts = []
        for c in spike_counts:
            if c is None:
                counts.append(None)
                continue
            a = np.abs(np.asarray(c.detach().cpu() if hasattr(c, "detach") else c, dtype=float))
            counts.append(a.reshape(-1, a.shape[-1]).sum(axis=0) if a.ndim > 1 else a)
        return cls(layers, tuple(counts), n_samples, T, source=source)

    def to_dict(self) -> dict:
        """Plain JSON-ready form (lists of numbers); :meth:`from_dict` restores it."""
        return {
            "n_samples": self.n_samples,
            "T": self.T,
            "source": self.source,
            "layers": [
                {
                    "name": la.name,
                    "n_in": la.n_in,
                    "n_out": la.n_out,
                    "neuron": la.neuron,
                    "input_kind": la.input_kind,
                    "fan_out": la.fan_out.tolist(),
                    "weight_bits": la.weight_bits,
                    "groups": la.groups,
                    "spike_counts": None if c is None else c.tolist(),
                }
                for la, c in zip(self.layers, self.spike_counts, strict=True)
            ],
        }

    @classmethod
    def from_dict(cls, data: dict) -> SNNActivity:
        try:
            layers = [
                LayerSpec(
                    d["name"],
                    d["n_in"],
                    d["n_out"],
                    d["neuron"],
                    d["input_kind"],
                    d["fan_out"],
                    d.get("weight_bits"),
                    d.get("groups", 1),
                )
                for d in data["layers"]
            ]
            counts = [d["spike_counts"] for d in data["layers"]]
            return cls(
                tuple(layers),
                tuple(counts),
                data["n_samples"],
                data["T"],
                data.get("source", "unspecified"),
            )
        except KeyError as err:
            raise ValueError(f"SNNActivity.from_dict: missing field {err.args[0]!r}") from None

    @property
    def n_neurons(self) -> int:
        """All neurons, spiking and output: ``sum_k n_out_k``."""
        return sum(la.n_out for la in self.layers)

    @property
    def n_spiking_neurons(self) -> int:
        return sum(la.n_out for la in self.layers if la.spiking)

    def spikes_per_sample(self) -> np.ndarray:
        """Spikes per inference for each layer (0 for the output layer), shape ``(L,)``."""
        return np.array(
            [0.0 if c is None else float(c.sum()) / self.n_samples for c in self.spike_counts]
        )

    def firing_rates(self) -> list[np.ndarray | None]:
        """Per-neuron firing rate in spikes per neuron per step: ``count / (n_samples * T)``."""
        d = self.n_samples * self.T
        return [None if c is None else c / d for c in self.spike_counts]

    def activation_sparsity(self) -> float:
        """NeuroBench activation sparsity over the spiking neurons.

        ``1 - (nonzero outputs) / (neurons * T * samples)``: 0 = every neuron spikes every step,
        1 = no spike at all. The non-spiking output layer is not a spiking activation and is
        left out.
        """
        total = self.n_spiking_neurons * self.T * self.n_samples
        fired = sum(float(c.sum()) for c in self.spike_counts if c is not None)
        return 1.0 - fired / total if total else 1.0


@dataclass(frozen=True)
class ANNSpec:
    """The ANN baseline: ``widths = (n_in, h_1, ..., h_m, n_out)`` of a dense MLP.

    MACs per sample ``= sum_k n_{k-1} n_k`` (dense), or the weight nonzeros when ``nonzeros`` is
    given (one count per layer; NeuroBench Effective_MACs with nonzero activations).
    Activations per sample ``= sum`` of the hidden widths (the output layer is linear).
    """

    widths: tuple[int, ...]
    activation: str = "tanh"
    nonzeros: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.widths, int) or not hasattr(self.widths, "__iter__"):
            raise TypeError(f"ANNSpec.widths must be a sequence of ints, got {self.widths!r}")
        widths = tuple(check_count(w, "ANNSpec.widths[i]") for w in self.widths)
        if len(widths) < 2:
            raise ValueError(f"ANNSpec.widths needs input and output sizes, got {widths}")
        object.__setattr__(self, "widths", widths)
        if self.nonzeros is not None:
            nz = tuple(int(v) for v in self.nonzeros)
            if len(nz) != len(widths) - 1:
                raise ValueError(
                    f"ANNSpec.nonzeros needs one count per layer ({len(widths) - 1}), got {len(nz)}"
                )
            for k, v in enumerate(nz):
                if not 0 <= v <= widths[k] * widths[k + 1]:
                    raise ValueError(
                        f"ANNSpec.nonzeros[{k}]={v} must lie in [0, {widths[k] * widths[k + 1]}]"
                    )
            object.__setattr__(self, "nonzeros", nz)

    @classmethod
    def from_weights(cls, weights: Sequence[object], activation: str = "tanh") -> ANNSpec:
        ws = [np.asarray(w.detach().cpu() if hasattr(w, "detach") else w) for w in weights]
        widths = (ws[0].shape[1], *(w.shape[0] for w in ws))
        return cls(widths, activation, tuple(int(np.count_nonzero(w)) for w in ws))

    @property
    def dense_macs_per_layer(self) -> tuple[int, ...]:
        return tuple(a * b for a, b in zip(self.widths[:-1], self.widths[1:], strict=False))

    @property
    def macs_per_layer(self) -> tuple[int, ...]:
        """Effective MACs per sample and layer (weight nonzeros; dense when not given)."""
        return self.nonzeros if self.nonzeros is not None else self.dense_macs_per_layer

    @property
    def macs(self) -> int:
        return int(sum(self.macs_per_layer))

    @property
    def dense_macs(self) -> int:
        return int(sum(self.dense_macs_per_layer))

    @property
    def activations(self) -> int:
        """Nonlinear activations evaluated per sample: the hidden widths."""
        return int(sum(self.widths[1:-1]))

    @property
    def activations_per_layer(self) -> tuple[int, ...]:
        return (*self.widths[1:-1], 0)
