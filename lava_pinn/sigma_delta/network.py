"""A sigma-delta network: one neuron per ANN unit, the ANN's activation inside the neuron, graded
messages that carry changes. :class:`DeltaNetwork` is what :func:`~lava_pinn.sigma_delta.
convert_sigma_delta` builds and :mod:`exporters.sigma_delta` quantizes.

Per step ``k`` (no synaptic delay here; a Lava graph adds one step per Dense, which shifts
every layer's sequence in time without changing it), for a point or frame ``x_k``:

    e_k  = x_k / in_scale - x_{k-1} / in_scale       (the input encoder: the change, x_0 = 0)
    a^1  = W_1 e_k;    a^l = W_l s^{l-1}              (weighted incoming changes)
    s^l, state^l = step(state^l, a^l, params^l)       (:mod:`lava_pinn.neurons.sigma_delta`)
    y_k  = y_{k-1} + W_out s^L                         (the output integrates: a Sigma unit)
    output = y_k + b_out

Held constant, ``x`` settles the chain in one step (``L + 1`` on a pipelined chip). Every
neuron starts at its *rest state*, the settled state for ``x = 0`` (``sigma = W act_rest``,
``act = f(sigma + b)``, ``residue = 0``), so biases cause no start-up burst. Units: the ANN's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from lava_pinn.conversion.network import _as_tensor as _tensor
from lava_pinn.neurons import NEURONS, get_neuron
from lava_pinn.neurons.sigma_delta import DeltaParams
from lava_pinn.registry import unknown_name


@dataclass(frozen=True)
class DeltaLayer:
    """One layer of sigma-delta neurons: ``weight`` ``(n_out, n_in)``, ``bias`` ``(n_out,)``,
    ``activation`` (the elementwise module applied in the neuron; ``nn.ReLU`` for
    ``sigma-delta-relu``), ``vth`` the send threshold (ANN activation unit, > 0), ``neuron`` a
    delta-coded :data:`~lava_pinn.neurons.NEURONS` key, ``z_range`` the pre-activation range
    the calibration points reached (``(lo, hi)``; sizes the integer activation table),
    ``offset`` (``(n_out,)`` or ``None``): a constant the layer's outputs carry above the value
    they stand for (identity ReLU neurons kept positive); the next layer's bias absorbs it."""

    weight: torch.Tensor
    bias: torch.Tensor
    activation: nn.Module
    vth: float
    neuron: str = "sigma-delta"
    z_range: tuple[float, float] = (-1.0, 1.0)
    name: str = ""
    offset: torch.Tensor | None = None

    def __post_init__(self) -> None:
        w = _tensor(self.weight, "DeltaLayer.weight", 2)
        if self.offset is not None:
            o = _tensor(self.offset, "DeltaLayer.offset", 1)
            if o.shape[0] != w.shape[0]:
                raise ValueError(
                    f"DeltaLayer.offset has {o.shape[0]} entries but weight has {w.shape[0]} rows"
                )
        b = _tensor(self.bias, "DeltaLayer.bias", 1)
        if b.shape[0] != w.shape[0]:
            raise ValueError(
                f"DeltaLayer.bias has {b.shape[0]} entries but weight has {w.shape[0]} rows"
            )
        if not isinstance(self.activation, nn.Module):
            raise TypeError(f"DeltaLayer.activation must be an nn.Module, got {self.activation!r}")
        v = float(self.vth)
        if not v > 0 or v != v or v == float("inf"):
            raise ValueError(f"DeltaLayer.vth must be a finite number > 0, got {self.vth!r}")
        if self.neuron not in NEURONS:
            raise unknown_name(NEURONS.kind, self.neuron, NEURONS.available(), " (DeltaLayer)")
        if NEURONS.get(self.neuron).coding != "delta":
            raise ValueError(
                f"DeltaLayer.neuron {self.neuron!r} is rate-coded; a DeltaLayer takes "
                f"{', '.join(n for n in NEURONS.available() if NEURONS.get(n).coding == 'delta')}"
            )
        lo, hi = (float(t) for t in self.z_range)
        if not lo < hi:
            raise ValueError(
                f"DeltaLayer.z_range must be (lo, hi) with lo < hi, got {self.z_range}"
            )

    @property
    def n_out(self) -> int:
        return int(self.weight.shape[0])

    @property
    def n_in(self) -> int:
        return int(self.weight.shape[1])


@dataclass(frozen=True)
class DeltaNetwork:
    """Input encoder, sigma-delta layers, integrating output (see the module docstring).

    ``in_scale`` ``(n_in,)``: the input is encoded as ``x / in_scale`` (so each component of
    the calibration points lies in ``[-1, 1]``); ``layers[0].weight`` already includes it.
    """

    layers: tuple[DeltaLayer, ...]
    out_weight: torch.Tensor
    out_bias: torch.Tensor
    in_scale: torch.Tensor
    metadata: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        layers = tuple(self.layers)
        if not layers or not all(isinstance(la, DeltaLayer) for la in layers):
            raise TypeError("DeltaNetwork.layers must be a non-empty sequence of DeltaLayer")
        object.__setattr__(self, "layers", layers)
        for i in range(1, len(layers)):
            if layers[i].n_in != layers[i - 1].n_out:
                raise ValueError(
                    f"DeltaNetwork.layers[{i}] takes {layers[i].n_in} inputs but layer {i - 1} "
                    f"has {layers[i - 1].n_out} neurons"
                )
        w = _tensor(self.out_weight, "DeltaNetwork.out_weight", 2)
        if w.shape[1] != layers[-1].n_out:
            raise ValueError(
                f"DeltaNetwork.out_weight takes {w.shape[1]} inputs but the last layer has "
                f"{layers[-1].n_out} neurons"
            )
        _tensor(self.out_bias, "DeltaNetwork.out_bias", 1)
        s = _tensor(self.in_scale, "DeltaNetwork.in_scale", 1)
        if s.shape[0] != layers[0].n_in or not bool((s > 0).all()):
            raise ValueError(
                f"DeltaNetwork.in_scale must hold {layers[0].n_in} positive entries, got {s}"
            )
        object.__setattr__(self, "metadata", dict(self.metadata))

    @property
    def in_features(self) -> int:
        return self.layers[0].n_in

    @property
    def out_features(self) -> int:
        return int(self.out_weight.shape[0])

    @property
    def neurons(self) -> int:
        return sum(la.n_out for la in self.layers)

    @property
    def synapses(self) -> int:
        ws = [la.weight for la in self.layers] + [self.out_weight]
        return int(sum(int((w != 0).sum()) for w in ws))

    @property
    def neuron(self) -> str:
        return self.layers[-1].neuron

    def params(self) -> list[DeltaParams]:
        """Every layer's step parameters; the send grid's origin is its rest activation."""
        return [
            DeltaParams(bias=la.bias, vth=la.vth, activation=la.activation, origin=r[1])
            for la, r in zip(self.layers, self.rest_state(), strict=True)
        ]

    def rest_state(self) -> list[tuple]:
        """Every layer's settled state for input 0 (``sigma``, ``act``, ``residue = 0``)."""
        out, prev = [], None
        for la in self.layers:
            sigma = torch.zeros_like(la.bias) if prev is None else la.weight @ prev
            act = la.activation(sigma + la.bias)
            out.append((sigma, act, torch.zeros_like(act)))
            prev = act
        return out

    def __repr__(self) -> str:
        dims = [self.in_features, *(la.n_out for la in self.layers), self.out_features]
        return f"DeltaNetwork({'-'.join(map(str, dims))}, neuron={self.neuron!r})"

    def ann(self, x: torch.Tensor) -> torch.Tensor:
        """The ANN these layers compute exactly (thresholds -> 0): ``(n, out_features)``."""
        h = x.to(self.out_weight.dtype) / self.in_scale
        for la in self.layers:
            h = la.activation(h @ la.weight.T + la.bias)
        return h @ self.out_weight.T + self.out_bias

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Static evaluation in float: each point held from the rest state until settled."""
        return run_float(self, x[None])[0][0]


def run_float(net: DeltaNetwork, frames: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Float simulation over ``frames`` ``(K, n, n_in)`` (``K = 1``: static) without reset;
    returns ``(outputs (K, n, n_out), messages per layer (n, n_l))``, the input encoder's
    messages first."""
    dt = net.out_weight.dtype
    frames = frames.to(dt) / net.in_scale
    n = frames.shape[1]
    params = net.params()
    steps = [get_neuron(la.neuron).step for la in net.layers]
    state = [tuple(v.expand(n, -1).clone() for v in s) for s in net.rest_state()]
    msgs = [torch.zeros(n, net.in_features, dtype=dt)] + [
        torch.zeros(n, la.n_out, dtype=dt) for la in net.layers
    ]
    y = net.rest_state()[-1][1] @ net.out_weight.T
    y = y.expand(n, -1).clone()
    prev = torch.zeros_like(frames[0])
    outs = []
    with torch.no_grad():
        for k in range(frames.shape[0]):
            s = frames[k] - prev
            prev = frames[k]
            msgs[0] += s != 0
            for i, la in enumerate(net.layers):
                s, state[i] = steps[i](state[i], s @ la.weight.T, params[i])
                msgs[i + 1] += s != 0
            y = y + s @ net.out_weight.T
            outs.append(y + net.out_bias)
    return torch.stack(outs), msgs


def _activation(la, dtype: torch.dtype) -> nn.Module:
    from lava_pinn.activations import frozen_copy, get_activation

    f = la.fn if la.fn is not None else get_activation(la.activation).module()
    return frozen_copy(f, dtype)
