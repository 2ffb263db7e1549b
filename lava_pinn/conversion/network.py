"""The converted spiking network: a plain chain of validated layers and its torch simulator.

A :class:`SpikingNetwork` is what conversion produces and what the exporters consume. It holds
nothing but dense layers, so every representation (one neuron per ANN unit, or several neurons
per unit for a piecewise-linear activation) compiles down to the same chain.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from lava_pinn.conversion.transfer import charges_at, warn_far
from lava_pinn.neurons import NEURONS, get_neuron
from lava_pinn.registry import unknown_name
from lava_pinn.simulation import LayerRun, float_step, run_chain
from lava_pinn.validation import check_T

FORMAT = "lava-pinn-snn"
FORMAT_VERSION = 1


class SNNFileError(ValueError):
    """A spiking-network file is missing, corrupt or from a newer format."""


def _rate_neurons() -> list[str]:
    return [n for n in NEURONS.available() if NEURONS.get(n).coding == "rate"]


def _as_tensor(value: object, name: str, ndim: int) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if value.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {tuple(value.shape)}")
    if not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")
    if not torch.isfinite(value).all():
        raise ValueError(f"{name} holds NaN or inf values; convert a finite model")
    return value.detach()


@dataclass(frozen=True)
class SpikingLayer:
    """One hidden layer of spiking neurons.

    Per time step ``t``: ``I_t = weight @ s_in(t) + bias`` (``s_in`` = the previous layer's
    spikes, or the analog point ``x`` itself for the first layer: direct encoding), then the
    neuron step ``(s_t, v) = NEURONS[neuron].step(v, I_t, threshold)`` with ``v(0) = v0``.
    Units: ``bias``, ``threshold``, ``v0`` and ``weight @ s`` share the ANN pre-activation unit.
    """

    weight: torch.Tensor  # (n_out, n_in)
    bias: torch.Tensor  # (n_out,)
    neuron: str
    threshold: torch.Tensor  # (n_out,), > 0
    v0: torch.Tensor  # (n_out,)

    def __post_init__(self) -> None:
        w = _as_tensor(self.weight, "SpikingLayer.weight", 2)
        n = w.shape[0]
        for name in ("bias", "threshold", "v0"):
            t = _as_tensor(getattr(self, name), f"SpikingLayer.{name}", 1)
            if t.shape[0] != n:
                raise ValueError(
                    f"SpikingLayer.{name} has {t.shape[0]} entries but weight has {n} rows"
                )
        if not (self.threshold > 0).all():
            bad = float(self.threshold.min())
            raise ValueError(f"SpikingLayer.threshold must be > 0 everywhere, got min {bad}")
        if self.neuron not in NEURONS:
            raise unknown_name(
                NEURONS.kind, self.neuron, NEURONS.available(), " (SpikingLayer.neuron)"
            )
        if NEURONS.get(self.neuron).coding != "rate":
            raise ValueError(
                f"SpikingLayer.neuron {self.neuron!r} is a sigma-delta neuron, not rate-coded: "
                "build it with lava_pinn.sigma_delta.convert_sigma_delta (or convert(..., "
                f"neuron={self.neuron!r})); rate-coded models: {', '.join(_rate_neurons())}"
            )

    @property
    def n_out(self) -> int:
        return int(self.weight.shape[0])

    @property
    def n_in(self) -> int:
        return int(self.weight.shape[1])


@dataclass(frozen=True)
class OutputLayer:
    """Non-spiking integrator: ``y = (1/T) sum_t (weight @ s_t + bias)`` over the last spikes."""

    weight: torch.Tensor  # (n_out, n_in)
    bias: torch.Tensor  # (n_out,)

    def __post_init__(self) -> None:
        w = _as_tensor(self.weight, "OutputLayer.weight", 2)
        b = _as_tensor(self.bias, "OutputLayer.bias", 1)
        if b.shape[0] != w.shape[0]:
            raise ValueError(
                f"OutputLayer.bias has {b.shape[0]} entries but weight has {w.shape[0]} rows"
            )


def simulate(
    hidden: tuple[SpikingLayer, ...] | list[SpikingLayer],
    output: OutputLayer,
    x: torch.Tensor,
    T: int,
    *,
    events: list | None = None,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Run the chain for ``T`` steps on a batch ``x`` of shape ``(n_points, n_in)``.

    Returns ``(y, counts)``: ``y = W_L (c_{L-1}/T) + b_L`` (the output layer's time-averaged
    input current) and ``counts[l]`` of shape ``(n_points, n_l)``, the signed spike count of
    every neuron (for signed neurons ``+1`` and ``-1`` spikes cancel in the count; a graded spike
    counts its payload). ``events``: a list that, when given, receives per layer the number of
    steps on which each neuron sent a spike (messages, of any sign and payload).
    """
    factors = [(layer.weight,) for layer in hidden]
    y, counts, _ = simulate_from(
        factors,
        [la.bias for la in hidden],
        [la.neuron for la in hidden],
        [la.threshold for la in hidden],
        [la.v0 for la in hidden],
        x,
        T,
        events=events,
    )
    return y @ output.weight.T + output.bias, counts


def simulate_factored(factors, biases, neurons, thresholds, v0s, x, T):
    """The simulator with each weight given as a product of factors ``(A, B, ...)`` = ``A @ B``
    (applied right to left, cheaper for low-rank weights); returns the last layer's rates and
    the counts. Same equations as :func:`simulate`."""
    r, counts, _ = simulate_from(factors, biases, neurons, thresholds, v0s, x, T)
    return r, counts


def simulate_from(
    factors,
    biases,
    neurons,
    thresholds,
    v0s,
    x,
    T,
    *,
    start=0,
    inputs=None,
    record=None,
    events=None,
):
    """:func:`simulate_factored` from hidden layer ``start`` on, given ``inputs``, the spike
    train of layer ``start - 1`` (``(T, n_points, n_{start-1})``, as ``record`` returns it);
    ``start = 0`` takes the points ``x`` (direct encoding). Returns ``(rates of the last layer,
    counts, train)``: ``counts[i]`` is ``None`` for ``i < start``; ``train`` is the spike train
    of layer ``record`` (``(T, n_points, n_record)``, int8) or ``None``. The layers a run
    skips are not simulated, so re-running the tail of a chain whose head is unchanged costs
    only the tail; the results equal a full run's, value for value. ``events``: a list that, when
    given, receives the message counts (steps with ``s != 0``) of the simulated layers."""
    T = check_T(T)
    L = len(biases)
    if not 0 <= start < L:
        raise ValueError(f"start must be a hidden-layer index in [0, {L - 1}], got {start}")
    if start > 0 and (inputs is None or inputs.shape[0] != T):
        raise ValueError(
            f"start={start} needs the (T={T}, n, n_in) spike train of layer {start - 1}"
        )
    if record is not None and not start <= record < L:
        raise ValueError(
            f"record must be a simulated layer index in [{start}, {L - 1}], got {record}"
        )
    dtype = biases[0].dtype
    x = x.to(dtype)
    layers = [
        LayerRun(
            step=float_step(get_neuron(neurons[i]).step),
            bias=None if i == 0 else biases[i],
            threshold=thresholds[i],
            state0=(v0s[i],),
            synapse=None if i == 0 else _synapse(factors[i]),
            n_out=int(biases[i].shape[0]),
            messages=events is not None,
        )
        for i in range(start, L)
    ]
    if start > 0:  # the first simulated layer is fed the recorded train through its synapse
        layers[0] = replace(layers[0], bias=None, synapse=_synapse(factors[start], biases[start]))
        drive = None
    else:
        drive = _apply(factors[0], x) + biases[0]  # direct encoding: the same current every step
    _, counts, msgs, trains = run_chain(
        layers,
        T,
        drive=drive,
        inputs=inputs,
        spike_dtype=dtype,
        chunk=sim_chunk(max(int(b.shape[0]) for b in biases)),
        record=() if record is None else (record - start,),
    )
    if events is not None:
        events.extend(msgs)
    counts = [None] * start + counts
    train = trains[record - start] if record is not None else None
    return counts[-1] / T, counts, train


def _synapse(factors: tuple, bias: torch.Tensor | None = None):
    """``s -> s @ (A @ B @ ...)^T`` (``+ bias`` when given)."""
    if bias is None:
        return lambda s: _apply(factors, s)
    return lambda s: _apply(factors, s) + bias


SIM_CHUNK_ELEMENTS = 2**19


def sim_chunk(widest: int) -> int:
    """Points simulated together: about ``2**19`` values in the widest layer's tensors. Every
    step allocates several such tensors; kept this small, the allocator reuses its buffers
    instead of mapping fresh pages each time (less system time than one pass over all
    points)."""
    return int(min(8192, max(64, SIM_CHUNK_ELEMENTS // max(widest, 1))))


def _apply(factors: tuple, s: torch.Tensor) -> torch.Tensor:
    """``s @ (A @ B @ ...)^T`` for factors ``(A, B, ...)``."""
    for f in reversed(factors):
        s = s @ f.T
    return s


class SpikingNetwork:
    """A converted PINN: direct-encoded input, hidden spiking layers, integrating output layer.

    Per time step ``t = 1..T`` for a point ``x`` (shape ``(in_features,)``):

    * layer 1: ``I_1(t) = W_1 x + b_1`` (direct encoding: the analog point drives the current
      every step), ``(s_1(t), v_1) = step_1(v_1, I_1(t), V_1)``;
    * layer l > 1: ``I_l(t) = W_l s_{l-1}(t) + b_l`` (no synaptic delay in this simulator),
      ``(s_l(t), v_l) = step_l(v_l, I_l(t), V_l)``, ``v_l(0) = v0_l``;
    * output: ``y = (1/T) sum_t (W_out s_L(t) + b_out)``, a non-spiking integrator decoded as
      the mean of its input current.

    ``step_l`` is the neuron model named by ``hidden[l].neuron`` in
    :data:`lava_pinn.neurons.NEURONS` (``"if"``: ``v += I; s = [v >= V]; v -= s V``;
    ``"signed-if"``: spikes ``+-1``; ``"lif-hard"``:
    strict ``v > V`` and ``v = 0`` after a spike). ``V_l`` and ``v0_l`` are per neuron.

    Calling ``snn(x)`` on ``(n_points, in_features)`` returns ``(n_points, out_features)``; after
    the call :attr:`last_stats` holds spike counts and rates per layer and per neuron.
    """

    def __init__(
        self,
        hidden: tuple[SpikingLayer, ...] | list[SpikingLayer],
        output: OutputLayer,
        T: int,
        metadata: dict | None = None,
    ) -> None:
        hidden = tuple(hidden)
        if not hidden:
            raise ValueError("SpikingNetwork.hidden must hold at least one SpikingLayer")
        for i, layer in enumerate(hidden):
            if not isinstance(layer, SpikingLayer):
                raise TypeError(f"SpikingNetwork.hidden[{i}] must be a SpikingLayer")
            if i > 0 and layer.n_in != hidden[i - 1].n_out:
                raise ValueError(
                    f"SpikingNetwork.hidden[{i}] takes {layer.n_in} inputs but layer {i - 1} "
                    f"has {hidden[i - 1].n_out} neurons"
                )
        if not isinstance(output, OutputLayer):
            raise TypeError("SpikingNetwork.output must be an OutputLayer")
        if output.weight.shape[1] != hidden[-1].n_out:
            raise ValueError(
                f"SpikingNetwork.output takes {output.weight.shape[1]} inputs but the last hidden "
                f"layer has {hidden[-1].n_out} neurons"
            )
        T = check_T(T, "SpikingNetwork.T")
        self.hidden = hidden
        self.output = output
        self.T = T
        self.metadata = dict(metadata or {})
        self.last_stats: dict | None = None

    # ------------------------------------------------------------------ properties
    @property
    def in_features(self) -> int:
        return self.hidden[0].n_in

    @property
    def out_features(self) -> int:
        return int(self.output.weight.shape[0])

    @property
    def neurons(self) -> int:
        """Number of spiking neurons."""
        return sum(layer.n_out for layer in self.hidden)

    @property
    def synapses(self) -> int:
        """Number of nonzero synaptic weights (input and output layers included)."""
        ws = [layer.weight for layer in self.hidden] + [self.output.weight]
        return int(sum(int((w != 0).sum()) for w in ws))

    def __repr__(self) -> str:
        dims = [self.in_features, *(la.n_out for la in self.hidden), self.out_features]
        neuron = self.hidden[0].neuron
        return f"SpikingNetwork({'-'.join(map(str, dims))}, neuron={neuron!r}, T={self.T})"

    # ------------------------------------------------------------------ running
    def at_T(self, T: int) -> SpikingNetwork:
        """The same network for ``T`` time steps: calibrated charges in the initial potentials
        rescaled so that they shift the rates as at this network's ``T``
        (:mod:`lava_pinn.conversion.transfer`); ``metadata["calibrated_T"]`` is kept. Warns
        when ``T`` is far from the calibrated ``T`` of a network with ``T``-specific
        calibration."""
        T = check_T(T)
        warn_far(self.metadata, T)
        fractions = self.metadata.get("v0_fraction") or [None] * len(self.hidden)
        if len(fractions) != len(self.hidden):
            fractions = [None] * len(self.hidden)
        hidden = [
            replace(la, v0=charges_at(la.v0, la.threshold, f, self.T, T))
            for la, f in zip(self.hidden, fractions, strict=True)
        ]
        meta = dict(self.metadata)
        meta.setdefault("calibrated_T", self.T)
        return SpikingNetwork(hidden, self.output, T, meta)

    def run(self, x: torch.Tensor, T: int | None = None) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Simulate for ``T`` steps (default: the network's own); returns the decoded outputs
        and per-point spike counts of every layer (statistics in :attr:`last_stats`, as after
        a call). Another ``T`` runs :meth:`at_T` (calibrated charges rescaled, a warning when
        far from the calibrated ``T``)."""
        if T is not None and check_T(T) != self.T:
            other = self.at_T(T)
            out = other.run(x)
            self.last_stats = other.last_stats
            return out
        T = self.T
        x, dtype = check_points(x, self.in_features, self.hidden[0].weight.dtype)
        graded = any(get_neuron(la.neuron).graded for la in self.hidden)
        events: list | None = [] if graded else None
        y, counts = simulate(self.hidden, self.output, x, T, events=events)
        self.last_stats = spike_stats(counts, T, self.hidden, events)
        return y.to(dtype), counts

    def __call__(self, x: torch.Tensor, T: int | None = None) -> torch.Tensor:
        """Decoded outputs ``(n, out_features)`` at points ``(n, in_features)`` after ``T``
        steps (default: the converted ``T``); integer points are read as floats."""
        return self.run(x, T)[0]

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "T": self.T,
            "hidden": [
                {
                    "weight": la.weight.clone(),
                    "bias": la.bias.clone(),
                    "neuron": la.neuron,
                    "threshold": la.threshold.clone(),
                    "v0": la.v0.clone(),
                }
                for la in self.hidden
            ],
            "output": {"weight": self.output.weight.clone(), "bias": self.output.bias.clone()},
            "metadata": _plain(self.metadata),
        }

    @classmethod
    def from_dict(cls, d: dict, *, source: str = "<dict>") -> SpikingNetwork:
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise SNNFileError(f"{source}: not a lava-pinn spiking network (no '{FORMAT}' tag)")
        if int(d.get("format_version", 0)) > FORMAT_VERSION:
            raise SNNFileError(
                f"{source}: format version {d['format_version']} is newer than this lava-pinn "
                f"reads (<= {FORMAT_VERSION}); upgrade lava-pinn"
            )
        try:
            hidden = [SpikingLayer(**la) for la in d["hidden"]]
            output = OutputLayer(**d["output"])
            return cls(hidden, output, int(d["T"]), d.get("metadata", {}))
        except (KeyError, TypeError, ValueError) as err:
            raise SNNFileError(f"{source}: invalid spiking network ({err})") from None

    def save(self, path: str | os.PathLike) -> Path:
        """Write atomically; read back with :meth:`load` (``torch.load(weights_only=True)``)."""
        from lava_pinn.checkpoint import atomic_write_bytes

        buf = io.BytesIO()
        torch.save(self.to_dict(), buf)
        return atomic_write_bytes(path, buf.getvalue())

    @classmethod
    def load(cls, path: str | os.PathLike) -> SpikingNetwork:
        path = Path(path)
        if not path.is_file():
            raise SNNFileError(f"spiking network {path}: no such file")
        try:
            d = torch.load(io.BytesIO(path.read_bytes()), map_location="cpu", weights_only=True)
        except Exception as err:  # torch raises many types on a corrupt zip/pickle
            msg = str(err).splitlines()[0] if str(err) else "corrupt file"
            raise SNNFileError(
                f"spiking network {path}: not a readable file ({type(err).__name__}: {msg})"
            ) from None
        return cls.from_dict(d, source=f"spiking network {path}")


def _plain(obj: object) -> object:
    """Metadata restricted to what ``torch.load(weights_only=True)`` reads back."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    if isinstance(obj, torch.Tensor):
        return obj.detach().clone()
    return str(obj)


def as_points(x: object, n_in: int, what: str = "points") -> torch.Tensor:
    """``x`` as a tensor: a torch.Tensor as it is, a numpy array (or nested list of numbers)
    as the tensor of its values and dtype; anything else is a TypeError naming ``what``."""
    if isinstance(x, torch.Tensor):
        return x
    import numpy as np

    try:
        arr = np.asarray(x)
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.dtype.kind not in "biuf":
        raise TypeError(
            f"{what} must be a torch.Tensor or numpy array of numbers of shape (n, {n_in}), "
            f"got {type(x).__name__}" + ("" if arr is None else f" of dtype {arr.dtype}")
        )
    return torch.as_tensor(arr)


def check_points(x: object, n_in: int, float_dtype: torch.dtype) -> tuple[torch.Tensor, object]:
    """``(points, dtype of the outputs)``: a float ``(n >= 1, n_in)`` tensor (``(n,)`` when
    ``n_in == 1``; a numpy array or list of numbers is read as one); integer or boolean points
    become ``float_dtype`` (the network's)."""
    x = as_points(x, n_in)
    if x.ndim == 1 and n_in == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] != n_in:
        raise ValueError(f"points must have shape (n, {n_in}), got {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise ValueError(f"points are empty (shape {tuple(x.shape)}); pass at least one point")
    if x.is_complex():
        raise TypeError(f"points must be real numbers, got dtype {x.dtype}")
    if not x.is_floating_point():
        x = x.to(float_dtype)
    if not torch.isfinite(x).all():
        raise ValueError("points hold NaN or inf values")
    return x, x.dtype


def spike_stats(
    counts: list[torch.Tensor],
    T: int,
    hidden: tuple[SpikingLayer, ...],
    events: list[torch.Tensor] | None = None,
) -> dict:
    """Spike statistics of one run: totals, mean rates (spikes per neuron per step) per layer
    and per neuron (averaged over points). A spike is one message: with ``events`` (steps on
    which a neuron sent anything) those are counted, and ``"quanta"`` adds the payload sum of
    graded spikes. Without ``events`` the counts are used: a signed neuron's ``+1`` and ``-1``
    spikes within one run cancel there, so its figures are then lower bounds."""
    n_points = counts[0].shape[0]
    layers = []
    total = 0.0
    quanta = 0.0
    n_neurons = 0
    for i, (layer, c) in enumerate(zip(hidden, counts, strict=False)):
        quanta += float(c.abs().sum())
        a = c.abs() if events is None else events[i]
        per_neuron = a.sum(0)
        spikes = float(per_neuron.sum())
        total += spikes
        n_neurons += layer.n_out
        layers.append(
            {
                "neurons": layer.n_out,
                "spikes": spikes,
                "spikes_per_point": spikes / n_points,
                "rate": spikes / (n_points * T * layer.n_out),
                "neuron_counts": per_neuron,
                "neuron_rates": per_neuron / (n_points * T),
            }
        )
    return {
        "T": T,
        "points": n_points,
        "spikes": total,
        "quanta": quanta,
        "spikes_per_point": total / n_points,
        "rate": total / (n_points * T * n_neurons),
        "layers": layers,
    }
