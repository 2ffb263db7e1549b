"""The deployed sigma-delta network in integers, and :func:`quantize_delta` that builds it.

Units (``F_l``: fractional bits of layer ``l``'s payload; the input encoder is layer 0):

* payloads of layer ``l`` (and its ``act``, ``residue``, ``vth``, table): ``2**-F_l`` of the
  ANN activation unit; the input payload is ``x / in_scale`` in units of ``2**-F_0``;
* ``sigma`` of neuron ``r`` in layer ``l`` (and its ``bias``, ``lo``): ``2**-S_r`` of the
  pre-activation unit, ``S_r = E_r + F_{l-1} - (K_r - 8)``, where ``2**-E_r`` is the scale of
  row ``r``'s 8-bit weights and ``K_r`` (``sum_shift``) the neuron's remainder bits: the
  weighted sums arrive in units of ``2**-(E_r + F_{l-1} + 8)`` and enter ``sigma`` through a
  ``K_r``-bit remainder register (:func:`lava_pinn.neurons.sigma_delta.int_step`), so
  ``sigma``'s 24 bits hold the pre-activation's range at ``S_r`` fraction bits while the
  payloads keep ``F_l`` and the weights their whole mantissa.

Synapses are Lava ``Dense`` layers with graded messages: group ``g`` computes
``(W_g @ s) << e_g`` (``>> -e_g``: a floor); one group holds the weights' 8-bit mantissas
(``W ~ 2**-E_r W_1``, even integers in ``[-256, 254]``: what Lava keeps of a mixed-sign
matrix), a second one, when asked for, the next 8 bits (``e_2 = -8``). A layer's activation is
its table (:func:`lava_pinn.neurons.sigma_delta.table_act`), sized so that linear interpolation
stays within half a payload unit of ``f`` over the calibration range.

Formats (:func:`quantize_delta`): every row its own exponent (``E_r`` the largest with
``max |w_r| 2**E_r <= 254``), payloads ``F_l = min(ACT_BITS, what the payload width holds for
the layer's activation range)``, the input ``min(ACT_BITS, payload_bits - 3)``, and ``S_r`` the
largest that keeps ``1.25 x`` the calibration range of the pre-activation within 24 bits
(``K_r = 8 + E_r + F_{l-1} - S_r``, at least 8).

``sigma-delta-relu`` layers (Lava's ``SigmaDelta`` as netx builds it,
:mod:`exporters.sigma_delta.relu_quant`) use :class:`Synapses` with ``lava_shift``: every group
is one Lava ``Dense``, ``(W_g @ s) << e_g`` (``>> -e_g``, a floor) for any ``e_g``; their layers
hold ``bias`` and ``vth`` as Lava does (``<< (spike_exp + state_exp)``) and send
``s >> state_exp``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from lava_pinn.neurons.model import V_LIMIT
from lava_pinn.neurons.sigma_delta import DeltaParams, table_act
from lava_pinn.sigma_delta.network import DeltaNetwork
from lava_pinn.validation import check_count

WEIGHT_MAX = 254  # even mantissas in [-256, 254]
GROUP_SHIFT = 8
SIGMA_HEADROOM = 1.25  # sigma holds 1.25x the (padded) calibration range of |z| in 24 bits
SIGMA_BITS = 23  # |sigma| < 2**23: the 24-bit state of Loihi 2 neurons
MAX_SEGMENTS = 4096
ACT_BITS = 16  # payload fraction bits (at most; the payload width may allow fewer)
SUM_SHIFT_MAX = 32  # remainder register bits of a sigma-delta neuron (sum_shift), at most
PAYLOAD_BITS = (8, 16, 24)


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=np.int64)
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class Synapses:
    """``a = sum_g shift(W_g @ s, e_g)``: ``groups`` of ``(W_g (n_out, n_in) int, e_g)``.

    ``lava_shift``: every group is a plain Lava ``Dense`` (``(W_g @ s) >> -e_g`` a floor for
    ``e_g < 0``, any exponent in ``[-8, 7]``), as netx builds them; otherwise a group with
    ``e_g = -8`` is the fine group the ``sigma-delta`` neuron adds exactly."""

    groups: tuple[tuple[np.ndarray, int], ...]
    lava_shift: bool = False

    def __post_init__(self) -> None:
        if not self.groups:
            raise ValueError("Synapses.groups must hold at least one (weights, exponent) pair")
        g = tuple((_frozen(w), int(e)) for w, e in self.groups)
        if self.lava_shift:
            if any(not -8 <= e <= 7 for _, e in g):
                raise ValueError(
                    f"Synapses.groups: a Lava Dense weight_exp is in [-8, 7]; got exponents "
                    f"{[e for _, e in g]}"
                )
        elif any(e < 0 and e != -GROUP_SHIFT for _, e in g) or sum(e < 0 for _, e in g) > 1:
            raise ValueError(
                f"Synapses.groups: at most one fine group, with exponent -{GROUP_SHIFT}; got "
                f"exponents {[e for _, e in g]}"
            )
        shape = g[0][0].shape
        for k, (w, _e) in enumerate(g):
            if w.ndim != 2 or w.shape != shape:
                raise ValueError(f"Synapses.groups[{k}] weights must be {shape}, got {w.shape}")
            if w.size and (w.min() < -256 or w.max() > WEIGHT_MAX or (w % 2).any()):
                raise ValueError(
                    f"Synapses.groups[{k}] weights must be even integers in [-256, {WEIGHT_MAX}] "
                    "(Lava's 8-bit mixed-sign Dense)"
                )
        object.__setattr__(self, "groups", g)

    @property
    def n_out(self) -> int:
        return int(self.groups[0][0].shape[0])

    @property
    def n_in(self) -> int:
        return int(self.groups[0][0].shape[1])

    def fan_out(self) -> np.ndarray:
        """Synaptic ops one message of each input causes: nonzero weights in its column,
        summed over groups ``(n_in,)``."""
        return sum((w != 0).sum(0) for w, _ in self.groups)

    @property
    def synapses(self) -> int:
        return int(sum(int((w != 0).sum()) for w, _ in self.groups))

    def sum_bits(self, message_max: np.ndarray) -> tuple[int, ...]:
        """Accumulator width each group needs, in bits with the sign: the largest
        ``|(W_g @ s) << max(e_g, 0)|`` over messages ``|s_j| <= message_max[j]`` (``(n_in,)``
        integers), i.e. ``max_r sum_j |W_g[r, j]| message_max[j]``, shifted."""
        m = np.asarray(message_max, dtype=object)
        if m.shape != (self.n_in,):
            raise ValueError(f"message_max must have shape ({self.n_in},), got {m.shape}")
        out = []
        for w, e in self.groups:
            bound = max((np.abs(w).astype(object) @ m).max(initial=0), 0)
            out.append(int(bound).bit_length() + max(e, 0) + 1)
        return tuple(out)

    def apply(self, s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(a, a_fine)`` for int64 ``s`` ``(n, n_in)``: ``a = sum shift(s @ W_g^T, e_g)`` over
        the groups with ``e_g >= 0``, ``a_fine`` the raw ``s @ W_g^T`` of the fine group
        (``e_g = -8``: the neuron adds it exactly, :func:`lava_pinn.neurons.sigma_delta.
        int_step`). With ``lava_shift`` every group is shifted (``>> -e_g`` a floor) into ``a``
        and ``a_fine`` is 0. Products formed in float64, exact while ``|sum| < 2**53``."""
        a = torch.zeros(s.shape[0], self.n_out, dtype=torch.int64)
        fine = torch.zeros_like(a)
        sf = s.to(torch.float64)
        for w, e in self.groups:
            v = (sf @ torch.tensor(w, dtype=torch.float64).T).to(torch.int64)
            if self.lava_shift:
                a = a + (v << e if e >= 0 else v >> -e)
            elif e < 0:
                fine = fine + v
            else:
                a = a + (v << e)
        return a, fine


@dataclass(frozen=True)
class IntDeltaLayer:
    """One deployed sigma-delta layer (see the module docstring for units)."""

    synapses: Synapses
    bias: np.ndarray
    vth: np.ndarray
    lo: np.ndarray
    shift: np.ndarray
    table: np.ndarray
    payload_bits: int
    act_bits: int  # F_l
    sigma_exp: np.ndarray  # S_r: sigma of row r is 2**-sigma_exp[r] pre-activation units
    neuron: str = "sigma-delta"
    name: str = ""
    state_exp: int = 0  # sigma-delta-relu: messages are s >> state_exp (netx: 6)
    spike_exp: int = 0  # sigma-delta-relu: bias, vth are the file's << (spike_exp + state_exp)
    sum_shift: np.ndarray | None = None  # K_r, sigma-delta's remainder bits (None: 8 each)

    def __post_init__(self) -> None:
        n = self.synapses.n_out
        if self.sum_shift is None:
            object.__setattr__(self, "sum_shift", np.full(n, GROUP_SHIFT, np.int64))
        k = _frozen(self.sum_shift)
        if k.shape != (n,) or (k < GROUP_SHIFT).any() or (k > SUM_SHIFT_MAX).any():
            raise ValueError(
                f"IntDeltaLayer.sum_shift must hold {n} remainder widths in [{GROUP_SHIFT}, "
                f"{SUM_SHIFT_MAX}], got {self.sum_shift!r}"
            )
        object.__setattr__(self, "sum_shift", k)
        for f in ("bias", "vth", "lo", "shift", "sigma_exp"):
            a = _frozen(getattr(self, f))
            if a.shape != (n,):
                raise ValueError(f"IntDeltaLayer.{f} must have shape ({n},), got {a.shape}")
            object.__setattr__(self, f, a)
        t = _frozen(self.table)
        if t.ndim != 1 or t.shape[0] < 2:
            raise ValueError(f"IntDeltaLayer.table must be 1-D with >= 2 entries, got {t.shape}")
        object.__setattr__(self, "table", t)
        if self.payload_bits not in PAYLOAD_BITS:
            raise ValueError(
                f"IntDeltaLayer.payload_bits must be one of {PAYLOAD_BITS} (Lava Dense message "
                f"widths), got {self.payload_bits!r}"
            )
        if (self.vth < 1).any():
            raise ValueError(f"IntDeltaLayer.vth must be >= 1 payload unit, got {self.vth.min()}")
        pmax = (1 << (self.payload_bits - 1)) - 1
        if (self.vth >> self.state_exp > pmax).any():
            raise ValueError(
                f"layer {self.name or '?'}: threshold {int(self.vth.max())} does not fit a "
                f"{self.payload_bits}-bit payload (max {pmax})"
            )
        if (self.shift < 0).any():
            raise ValueError("IntDeltaLayer.shift must be >= 0")
        if abs(self.bias).max(initial=0) > V_LIMIT:
            raise ValueError(f"layer {self.name or '?'}: a bias does not fit 24 bits")
        if self.relu:
            _check_relu_fields(self)

    @property
    def n_out(self) -> int:
        return self.synapses.n_out

    def params(self, origin: np.ndarray | None = None) -> DeltaParams:
        """The step parameters as int64 tensors (what the twin passes to ``int_step``);
        ``origin``: the send grid's origin per neuron (the layer's rest ``act``)."""
        t = torch.from_numpy
        return DeltaParams(
            origin=None if origin is None else t(np.array(origin, dtype=np.int64)),
            bias=t(np.array(self.bias)),
            vth=t(np.array(self.vth)),
            lo=t(np.array(self.lo)),
            shift=t(np.array(self.shift)),
            table=t(np.array(self.table)),
            state_exp=int(self.state_exp),
            sum_shift=None if self.relu else t(np.array(self.sum_shift)),
        )

    @property
    def relu(self) -> bool:
        return self.neuron == "sigma-delta-relu"

    def act(self, sigma: torch.Tensor) -> torch.Tensor:
        """The activation of ``sigma`` (integer): ``max(sigma + bias, 0)`` for
        ``sigma-delta-relu``, the table otherwise."""
        p = self.params()
        if self.relu:
            return (sigma + p.bias).clip(min=0)
        return table_act(sigma + p.bias, p.lo, p.shift, p.table)


BIAS_FILE_MAX = (1 << 15) - 1  # SigmaDelta fixed_pt holds a 16-bit bias mantissa
VTH_FILE_MAX = (1 << 17) - 1  # vThMant << (spike_exp + state_exp) within the 24-bit state


def _check_relu_fields(la: IntDeltaLayer) -> None:
    name = la.name or "?"
    sh = la.spike_exp + la.state_exp
    if not 0 <= la.spike_exp <= 7 or not 0 <= la.state_exp <= 7:
        raise ValueError(
            f"layer {name}: spike_exp and state_exp are 3-bit fields in [0, 7], got "
            f"{la.spike_exp}, {la.state_exp}"
        )
    if ((la.bias % (1 << sh)) != 0).any() or ((la.vth % (1 << sh)) != 0).any():
        raise ValueError(
            f"layer {name}: bias and vth must be multiples of 2**(spike_exp + state_exp) = "
            f"{1 << sh} (Lava's SigmaDelta scales the file's integers by it)"
        )
    if len(set(la.vth.tolist())) != 1:
        raise ValueError(f"layer {name}: Lava's SigmaDelta holds one threshold per layer")
    b = abs(la.bias >> sh).max(initial=0)
    if b > BIAS_FILE_MAX:
        raise ValueError(
            f"layer {name}: bias {int(b)} (file units) does not fit the 16-bit bias of Lava's "
            f"SigmaDelta (max {BIAS_FILE_MAX}); lower the layer's scale"
        )
    v = int(la.vth.max()) >> sh
    if v > VTH_FILE_MAX or v < 1:
        raise ValueError(
            f"layer {name}: threshold {v} (file units) must be in [1, {VTH_FILE_MAX}] (a "
            f"24-bit state holds vth << {sh}); pick a threshold in that range"
        )


@dataclass(frozen=True)
class IntDeltaNetwork:
    """Input encoder, deployed layers, integrating readout.

    Input: ``x_q = in_vth * round(x / in_scale * 2**in_bits / in_vth)`` (``in_vth``: the
    encoder's step per input feature, in its units; default 1); the encoder sends ``x_q`` minus
    what it sent before. Readout: ``acc = y_rest + sum_t (a_t << 8) + a_fine_t`` (fine units) and
    ``y = acc * 2**-(out_exp + 8) + out_bias``. ``rest``: every layer's ``(sigma, act, rem)``
    for input 0 (residues 0).

    A ``sigma-delta-relu`` network (netx SDNN) reads out through Lava ``Dense`` groups
    (``output.lava_shift``): ``acc = sum_t a_t`` and ``y = sum_k acc[k n + j] 2**-out_exp[k n + j]
    + out_bias_j`` over ``out_parts`` blocks of ``n = out_features`` rows (hi and lo parts).

    ``bus``: constant inputs the encoder appends after the ``in_features`` point coordinates,
    ``2**(in_bits - 6 k)`` for ``k < bus``: a network whose neurons have no biases takes them
    from these (``exporters.sigma_delta.relu_quant``), so the first layer's input width is
    ``in_features + bus`` (:attr:`in_width`)."""

    layers: tuple[IntDeltaLayer, ...]
    output: Synapses
    out_exp: np.ndarray
    out_bias: np.ndarray
    in_scale: np.ndarray
    in_bits: int
    rest: tuple[tuple[np.ndarray, ...], ...] = ()
    out_rest: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    metadata: dict = field(default_factory=dict)
    in_vth: np.ndarray | None = None
    out_parts: int = 1
    bus: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(self.layers))
        for i in range(1, len(self.layers)):
            if self.layers[i].synapses.n_in != self.layers[i - 1].n_out:
                raise ValueError(
                    f"IntDeltaNetwork.layers[{i}] does not take layer {i - 1}'s output"
                )
        if self.output.n_in != self.layers[-1].n_out:
            raise ValueError("IntDeltaNetwork.output does not take the last layer's output")
        if isinstance(self.bus, bool) or not isinstance(self.bus, int) or self.bus < 0:
            raise TypeError(f"IntDeltaNetwork.bus must be an int >= 0, got {self.bus!r}")
        if self.bus and self.in_bits - 6 * (self.bus - 1) < 0:
            raise ValueError(
                f"IntDeltaNetwork.bus={self.bus} needs in_bits >= {6 * (self.bus - 1)} (its "
                f"constants are 2**(in_bits - 6 k)), got in_bits={self.in_bits}"
            )
        if self.out_parts < 1 or self.output.n_out % self.out_parts:
            raise ValueError(
                f"IntDeltaNetwork.out_parts must divide the {self.output.n_out} readout rows, "
                f"got {self.out_parts}"
            )
        object.__setattr__(self, "out_exp", _frozen(self.out_exp))
        if self.out_exp.shape != (self.output.n_out,):
            raise ValueError(
                f"IntDeltaNetwork.out_exp needs one exponent per readout row "
                f"({self.output.n_out}), got shape {self.out_exp.shape}"
            )
        ob = np.array(self.out_bias, dtype=np.float64)
        ob.setflags(write=False)
        object.__setattr__(self, "out_bias", ob)
        sc = np.array(self.in_scale, dtype=np.float64)
        sc.setflags(write=False)
        object.__setattr__(self, "in_scale", sc)
        if sc.shape != (self.in_features,):
            raise ValueError(
                f"IntDeltaNetwork.in_scale needs one scale per input feature "
                f"({self.in_features}), got shape {sc.shape}"
            )
        iv = np.ones(sc.shape[0], np.int64) if self.in_vth is None else np.array(self.in_vth)
        if iv.shape != sc.shape or iv.dtype.kind not in "iu" or (iv < 1).any():
            raise ValueError(
                f"IntDeltaNetwork.in_vth needs one integer step >= 1 per input feature "
                f"({sc.shape[0]}), got {self.in_vth!r}"
            )
        if (iv >= 1 << self.in_bits).any():
            raise ValueError(
                f"IntDeltaNetwork.in_vth {iv.tolist()}: a step must stay below the encoder's "
                f"range 2**in_bits = {1 << self.in_bits}"
            )
        object.__setattr__(self, "in_vth", _frozen(iv.astype(np.int64)))
        if not self.rest:
            rest, y0 = compute_rest(self.layers, self.output)
            object.__setattr__(self, "rest", rest)
            object.__setattr__(self, "out_rest", y0)
        object.__setattr__(self, "metadata", dict(self.metadata))

    @property
    def in_features(self) -> int:
        """Point coordinates the network takes (its encoder adds :attr:`bus` constants)."""
        return self.layers[0].synapses.n_in - self.bus

    @property
    def in_width(self) -> int:
        """The encoder's width: :attr:`in_features` coordinates and :attr:`bus` constants."""
        return self.layers[0].synapses.n_in

    @property
    def out_features(self) -> int:
        return self.output.n_out // self.out_parts

    @property
    def readout_rows(self) -> int:
        """Readout neurons: ``out_parts x out_features``."""
        return self.output.n_out

    @property
    def neurons(self) -> int:
        return sum(la.n_out for la in self.layers)

    @property
    def synapses(self) -> int:
        return sum(la.synapses.synapses for la in self.layers) + self.output.synapses

    @property
    def weight_groups(self) -> tuple[int, ...]:
        """Dense groups per layer, the readout last."""
        return tuple(len(la.synapses.groups) for la in self.layers) + (len(self.output.groups),)

    def with_vth(
        self, vth: int | Sequence[int], in_vth: Sequence[int] | None = None
    ) -> IntDeltaNetwork:
        """This network with thresholds ``vth`` (payload units; one for all layers or one per
        layer) and, when given, encoder steps ``in_vth`` (one per input feature); the rest
        state is unchanged."""
        from dataclasses import replace

        v = [vth] * len(self.layers) if isinstance(vth, int) else list(vth)
        if len(v) != len(self.layers):
            raise ValueError(f"vth needs one threshold per layer ({len(self.layers)}), got {v}")
        layers = tuple(
            replace(la, vth=np.full(la.n_out, int(t), np.int64))
            for la, t in zip(self.layers, v, strict=True)
        )
        iv = self.in_vth if in_vth is None else np.array(list(in_vth), dtype=np.int64)
        return replace(self, layers=layers, in_vth=iv)

    def message_max(self) -> list[np.ndarray]:
        """The largest ``|message|`` each sender can send, per sender: first the encoder's,
        ``2**(in_bits + 1)`` (a change across the calibrated input range, ``|x| <= in_scale``),
        then each layer's: ``sigma-delta``, the span of its activation over the whole 24-bit
        ``sigma`` (the table and its extrapolated end segments) plus one threshold (what was
        sent is the activation rounded to the threshold grid); ``sigma-delta-relu``,
        ``(2**23 - 1 + |bias|) >> state_exp``."""
        out = [np.full(self.in_width, 1 << (self.in_bits + 1), dtype=np.int64)]
        for la in self.layers:
            b = la.bias.astype(np.int64)
            if la.relu:
                out.append((V_LIMIT + np.abs(b)) >> la.state_exp)
                continue
            ends = [
                table_act(np.full_like(b, u) + b, la.lo, la.shift, la.table)
                for u in (-V_LIMIT, V_LIMIT)
            ]
            hi = np.maximum(np.maximum(*ends), la.table.max())
            lo = np.minimum(np.minimum(*ends), la.table.min())
            out.append(hi - lo + la.vth)
        return out

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Points ``(..., n_in)`` -> the encoder's integer values (int64), the :attr:`bus`
        constants appended."""
        s = torch.from_numpy(np.array(self.in_scale))
        q = torch.from_numpy(np.array(self.in_vth)).to(torch.float64)
        u = x.to(torch.float64) / s * 2.0**self.in_bits / q
        codes = (torch.round(u) * q).to(torch.int64)
        if not self.bus:
            return codes
        c = torch.tensor([1 << (self.in_bits - 6 * k) for k in range(self.bus)])
        return torch.cat([codes, c.expand(*codes.shape[:-1], self.bus)], -1)

    def decode(self, y: torch.Tensor) -> torch.Tensor:
        """Readout accumulators ``(..., readout_rows)`` -> outputs (see the class docstring)."""
        e = torch.from_numpy(np.array(self.out_exp)).to(torch.float64)
        if not self.output.lava_shift:
            e = e + GROUP_SHIFT
        v = y.to(torch.float64) * 2.0**-e
        v = v.reshape(*v.shape[:-1], self.out_parts, self.out_features).sum(-2)
        return v + torch.from_numpy(np.array(self.out_bias))


def compute_rest(layers, output) -> tuple[tuple, np.ndarray]:
    """The settled integer state for input 0: ``sigma_1 = 0``, ``act_l = f(sigma_l + b_l)``,
    ``sigma_{l+1}, rem_{l+1}`` from ``synapses(act_l)`` (residues 0), and the readout's
    ``y_rest`` (in fine units, ``2**8`` per unit of ``out_exp``)."""
    rest = []
    prev = None
    for la in layers:
        sigma = torch.zeros(la.n_out, dtype=torch.int64)
        rem = torch.zeros_like(sigma)
        if prev is not None:
            a, fine = la.synapses.apply(prev[None])
            k = torch.from_numpy(np.array(la.sum_shift))
            t = (a[0] << GROUP_SHIFT) + fine[0]
            sigma = t >> k
            rem = t - (sigma << k)
        act = la.act(sigma)
        rest.append((sigma.numpy().copy(), act.numpy().copy(), rem.numpy().copy()))
        prev = act >> la.state_exp if la.relu else act
    a, fine = output.apply(prev[None])
    y0 = a[0] if output.lava_shift else (a[0] << GROUP_SHIFT) + fine[0]
    y0 = y0.numpy().copy()
    return tuple(tuple(_frozen(v) for v in r) for r in rest), _frozen(y0)


# ---------------------------------------------------------------------------- quantization
def _even(x: np.ndarray) -> np.ndarray:
    return (2 * np.round(x / 2)).clip(-256, WEIGHT_MAX).astype(np.int64)


def weight_rows(w: np.ndarray) -> np.ndarray:
    """Per-row exponent ``E_r``: the largest with ``max |w_r| 2**E_r <= 254``."""
    m = np.abs(w).max(1)
    m = np.where(m > 0, m, 1.0)
    return np.floor(np.log2(WEIGHT_MAX / m)).astype(np.int64)


def quantize_weights(w: np.ndarray, e: np.ndarray, groups: int) -> Synapses:
    """``w ~ 2**-E_r (W_1 + 2**-8 W_2)``: ``groups`` (1 or 2) Dense groups of even mantissas."""
    if groups not in (1, 2):
        raise ValueError(f"weight_groups must be 1 or 2, got {groups!r}")
    scaled = w * 2.0 ** e[:, None]
    w1 = _even(scaled)
    out = [(w1, 0)]
    if groups == 2:
        out.append((_even((scaled - w1) * 2.0**GROUP_SHIFT), -GROUP_SHIFT))
    return Synapses(tuple(out))


def _table(f, lo: float, hi: float, act_bits: int, s_min: int, name: str):
    """``(k, lo_real, table)``: segment width ``2**-k``, the smallest number of segments (a
    power-of-two width) whose interpolation error stays within half a payload unit."""
    unit = 2.0**-act_bits
    lo_real = math.floor(lo * 2.0**s_min) / 2.0**s_min
    for k in range(-2, s_min + 1):
        h = 2.0**-k
        n = max(2, math.ceil((hi - lo_real) / h))
        if n > MAX_SEGMENTS:
            break
        g = lo_real + h * np.arange(n + 1)
        with torch.no_grad():
            tab = np.round(f(torch.from_numpy(g)).numpy() / unit)
            t = lo_real + h * (np.arange(n * 8) + 0.5) / 8
            exact = f(torch.from_numpy(t)).numpy() / unit
        i = np.clip(((t - lo_real) / h).astype(np.int64), 0, n - 1)
        r = (t - lo_real) / h - i
        err = np.abs(tab[i] + (tab[i + 1] - tab[i]) * r - exact).max()
        if err <= 0.5 + 0.5:  # interpolation + the table's own rounding (half a unit)
            return k, lo_real, tab.astype(np.int64)
    warnings.warn(
        f"layer {name}: the activation table stops at {MAX_SEGMENTS} segments before its "
        "interpolation error reaches half a payload unit",
        stacklevel=3,
    )
    return k - 1, lo_real, tab.astype(np.int64)


OUT_ACT_BITS = 16


def row_exponents(inet: IntDeltaNetwork) -> list[np.ndarray]:
    """The row exponents ``E_r`` a ``sigma-delta`` network deployed, per layer and the readout
    (``S_r + K_r - 8 - F_{l-1}``; the readout's ``out_exp - F_L``)."""
    out, prev = [], inet.in_bits
    for la in inet.layers:
        out.append(np.array(la.sigma_exp) + np.array(la.sum_shift) - GROUP_SHIFT - prev)
        prev = la.act_bits
    out.append(np.array(inet.out_exp) - prev)
    return out


def layer_groups(weight_groups: int | Sequence[int], n_layers: int) -> tuple[int, ...]:
    """``weight_groups`` (one count for all, or one per layer and the readout) as a tuple of
    ``n_layers + 1`` counts, each 1 or 2."""
    if isinstance(weight_groups, int) and not isinstance(weight_groups, bool):
        g = (weight_groups,) * (n_layers + 1)
    else:
        g = tuple(weight_groups)
        if len(g) != n_layers + 1:
            raise ValueError(
                f"weight_groups needs one count per layer and the readout ({n_layers + 1}), got "
                f"{len(g)}"
            )
    bad = [v for v in g if v not in (1, 2) or isinstance(v, bool)]
    if bad:
        raise ValueError(f"weight_groups must be 1 or 2 (per layer), got {weight_groups!r}")
    return g


def quantize_delta(
    net: DeltaNetwork,
    *,
    payload_bits: int = 16,
    weight_groups: int | Sequence[int] = 2,
    vth: list[int] | None = None,
    grid_of: IntDeltaNetwork | None = None,
    act_bits: int = ACT_BITS,
) -> IntDeltaNetwork:
    """Quantize ``net`` (see the module docstring). ``vth``: per-layer thresholds in payload
    units (default: the network's float thresholds, at least 1). ``grid_of``: a network of
    the same shape whose formats (input and payload fraction bits, row exponents) are kept,
    so weights fine-tuned on that grid (:mod:`lava_pinn.sigma_delta.qat`) deploy exactly.
    ``act_bits``: the most payload fraction bits a layer (and the input) gets."""
    if payload_bits not in PAYLOAD_BITS:
        raise ValueError(f"payload_bits must be one of {PAYLOAD_BITS}, got {payload_bits!r}")
    if vth is not None and len(vth) != len(net.layers):
        raise ValueError(f"vth needs one threshold per layer ({len(net.layers)}), got {len(vth)}")
    check_count(act_bits, "act_bits", 1)
    groups = layer_groups(weight_groups, len(net.layers))
    pmax = (1 << (payload_bits - 1)) - 1
    # a jump of the encoded input from -1 to 1 fits the payload
    in_bits = min(payload_bits - 3, act_bits)
    if grid_of is not None:
        if [la.n_out for la in grid_of.layers] != [la.n_out for la in net.layers]:
            raise ValueError("grid_of must have the same layer sizes as the network")
        in_bits = grid_of.in_bits
    rows = None if grid_of is None else row_exponents(grid_of)
    prev_bits = in_bits
    layers = []
    for i, la in enumerate(net.layers):
        w = la.weight.double().numpy()
        zlo, zhi = la.z_range
        zmax = max(abs(zlo), abs(zhi), 1e-6) * SIGMA_HEADROOM
        s_cap = SIGMA_BITS - math.ceil(math.log2(zmax))
        e = weight_rows(w) if rows is None else rows[i]
        syn = quantize_weights(w, e, groups[i])
        s_exp = np.minimum(e + prev_bits, s_cap)  # sigma's unit; the rest waits in rem
        with torch.no_grad():
            g = torch.linspace(zlo, zhi, 4097, dtype=torch.float64)
            amax = max(float(la.activation(g).abs().max()), 1e-9)
        bits = int(math.floor(math.log2(pmax / (2 * amax + 1))))
        bits = min(bits, act_bits if i + 1 < len(net.layers) else max(act_bits, OUT_ACT_BITS))
        if grid_of is not None:
            bits = grid_of.layers[i].act_bits
        k, lo_real, tab = _table(la.activation, zlo, zhi, bits, int(s_exp.min()), la.name)
        t = int(vth[i]) if vth is not None else max(1, round(la.vth * 2.0**bits))
        layers.append(
            IntDeltaLayer(
                synapses=syn,
                bias=np.round(la.bias.double().numpy() * 2.0**s_exp).astype(np.int64),
                vth=np.full(la.n_out, t, np.int64),
                lo=np.round(lo_real * 2.0**s_exp).astype(np.int64),
                shift=(s_exp - k).astype(np.int64),
                table=tab,
                payload_bits=payload_bits,
                act_bits=bits,
                sigma_exp=s_exp,
                neuron=la.neuron,
                name=la.name or f"layer{i + 1}",
                sum_shift=GROUP_SHIFT + e + prev_bits - s_exp,
            )
        )
        prev_bits = bits
    wo = net.out_weight.double().numpy()
    e = np.minimum(weight_rows(wo), 30 - prev_bits) if rows is None else rows[-1]
    out = quantize_weights(wo, e, groups[-1])
    return IntDeltaNetwork(
        layers=tuple(layers),
        output=out,
        out_exp=e + prev_bits,
        out_bias=net.out_bias.double().numpy(),
        in_scale=net.in_scale.double().numpy(),
        in_bits=in_bits,
        metadata={**net.metadata, "payload_bits": payload_bits, "weight_groups": list(groups)},
    )
