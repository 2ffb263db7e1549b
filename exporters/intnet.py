"""The exported integer network: validated, frozen, and the same for Lava and the torch twin.

An :class:`IntegerNetwork` is a chain ``x -> hidden[0] -> ... -> hidden[L-1] -> readout``:

* **Input (host side, direct encoding as bias currents).** ``x_q = round(x / input_scale)``
  (signed 16-bit), ``a_0 = shift(W_0 @ x_q, weight_exp_0)``; the first layer's per-step current
  in its neuron's ``v`` units is ``I_0 = (a_0 << act_shift) + bias_0`` and enters the neurons as a
  per-neuron bias (:meth:`IntegerNetwork.encode_input`). ``W_0`` is signed 16-bit (it runs on
  the host, not in a Dense synapse).
* **Hidden layer l > 0:** Lava Dense semantics (:mod:`exporters.fixed_point`):
  ``a_l = wrap32((W_l @ s_{l-1}) << weight_exp_l)``, then the neuron step with bias
  ``bias_mant_l << bias_exp_l``, threshold and initial potential ``v0_l``.
* **Readout:** ``acc = sum_t wrap32((W_out @ s_{L-1}(t)) << weight_exp_out)``;
  decoded ``y = output_scale * (acc / T + bias_out)``.

Units per neuron model (its fixed-point fields in :data:`lava_pinn.neurons.NEURONS`): with
``act_shift = 0`` (the custom IF neurons) the bias, threshold and ``v0`` share the unit of the
synaptic input ``a``; for ``"lif-hard"`` (Lava's LIF) they are in ``v`` units, where the
synaptic input counts ``a << 6`` and the threshold is ``vth << 6`` (stored: the 17-bit ``vth``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from exporters import fixed_point as fp
from lava_pinn.neurons import NEURONS, NeuronModel
from lava_pinn.registry import unknown_name
from lava_pinn.validation import check_T

log = logging.getLogger(__name__)

X_BITS = 16
X_MAX = 2 ** (X_BITS - 1) - 1
HOST_WEIGHT_MAX = 2**15 - 1
WEIGHT_EXP_RANGE = (-8, 8)


def _int_array(value: object, where: str, ndim: int) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim != ndim:
        raise ValueError(f"{where} must have {ndim} dimension(s), got shape {arr.shape}")
    if arr.dtype.kind not in "iub":
        raise TypeError(f"{where} must hold integers, got dtype {arr.dtype}; round it first")
    out = arr.astype(np.int64)
    out.setflags(write=False)
    return out


def _check_range(arr: np.ndarray, lo: int, hi: int, where: str) -> None:
    if arr.size and (int(arr.min()) < lo or int(arr.max()) > hi):
        raise ValueError(
            f"{where} must lie in [{lo}, {hi}], got values in [{int(arr.min())}, {int(arr.max())}]"
        )


def _check_dense(weight: np.ndarray, weight_exp: int, where: str, max_spike: int = 1) -> None:
    mode = fp.dense_sign_mode(weight) if weight.size else "excitatory"
    lo, hi, step = fp.dense_weight_range(mode)
    _check_range(weight, lo, hi, f"{where}.weight ({mode} 8-bit Dense)")
    if step == 2 and (weight % 2).any():
        raise ValueError(
            f"{where}.weight: a mixed-sign Lava Dense keeps only even weights (it drops the "
            f"lowest bit); got odd values, e.g. {int(weight[weight % 2 != 0][0])}; round to even"
        )
    amax = fp.dense_max_abs_output(weight, weight_exp, max_spike)
    if amax >= 2**31:
        raise ValueError(f"{where}: Dense output can reach {amax}, beyond int32; lower weight_exp")


def _check_exp(weight_exp: object, where: str) -> int:
    if isinstance(weight_exp, bool) or not isinstance(weight_exp, (int, np.integer)):
        raise TypeError(f"{where}.weight_exp must be an int, got {weight_exp!r}")
    lo, hi = WEIGHT_EXP_RANGE
    if not lo <= int(weight_exp) <= hi:
        raise ValueError(f"{where}.weight_exp must lie in [{lo}, {hi}], got {weight_exp}")
    return int(weight_exp)


WEIGHT_GROUPS = (1, 2)


def check_weight_groups(value: object, where: str) -> int:
    """``value`` as the number of Dense weight groups per synapse (1, or 2 with a fine group);
    ``ValueError`` naming ``where`` otherwise."""
    if isinstance(value, bool) or value not in WEIGHT_GROUPS:
        raise ValueError(f"{where} must be 1 or 2, got {value!r}")
    return int(value)


def _check_fine(obj: Any, where: str) -> None:
    """Validate the optional second weight group (``fine_weight``, ``fine_exp``) of a synapse.

    Two Lava Dense processes feed the same neurons: ``a = (W << e) + (W_fine << e_fine)`` (each
    shifted, floored and wrapped on its own). With ``e_fine = e - 7`` the pair acts as one
    ~15-bit weight at twice the synapses (the coarse weight's rounding residual, re-quantized).
    """
    fw, fe = obj.fine_weight, obj.fine_exp
    if fw is None and fe is None:
        return
    if fw is None or fe is None:
        raise ValueError(
            f"{where}: fine_weight and fine_exp go together; pass both (or neither), got "
            f"fine_weight={'None' if fw is None else 'array'}, fine_exp={fe!r}"
        )
    fw = _int_array(fw, f"{where}.fine_weight", 2)
    if fw.shape != obj.weight.shape:
        raise ValueError(
            f"{where}.fine_weight has shape {fw.shape} but weight has {obj.weight.shape}"
        )
    object.__setattr__(obj, "fine_weight", fw)
    fe = _check_exp(fe, f"{where}.fine")
    if fe >= _check_exp(obj.weight_exp, where):
        raise ValueError(
            f"{where}.fine_exp = {fe} must lie below weight_exp = {obj.weight_exp} (the fine "
            "group refines the coarse one; typically fine_exp = weight_exp - 7)"
        )
    object.__setattr__(obj, "fine_exp", fe)


def _groups(obj: Any) -> tuple[tuple[np.ndarray, int], ...]:
    if obj.fine_weight is None:
        return ((obj.weight, obj.weight_exp),)
    return ((obj.weight, obj.weight_exp), (obj.fine_weight, obj.fine_exp))


@dataclass(frozen=True)
class IntLayer:
    """One hidden layer of integer neurons (see the module docstring for the units)."""

    weight: np.ndarray  # (n_out, n_in) int
    weight_exp: int
    bias_mant: np.ndarray  # (n_out,)
    bias_exp: np.ndarray  # (n_out,)
    threshold: np.ndarray  # (n_out,)
    v0: np.ndarray  # (n_out,)
    neuron: str
    name: str = "layer"
    fine_weight: np.ndarray | None = None  # (n_out, n_in) int: second Dense group, or None
    fine_exp: int | None = None

    def __post_init__(self) -> None:
        w = self.name
        object.__setattr__(self, "weight", _int_array(self.weight, f"{w}.weight", 2))
        _check_fine(self, w)
        n = self.weight.shape[0]
        for f in ("bias_mant", "bias_exp", "threshold", "v0"):
            arr = _int_array(getattr(self, f), f"{w}.{f}", 1)
            if arr.shape[0] != n:
                raise ValueError(f"{w}.{f} has {arr.shape[0]} entries but weight has {n} rows")
            object.__setattr__(self, f, arr)
        object.__setattr__(self, "weight_exp", _check_exp(self.weight_exp, w))
        if self.neuron not in NEURONS:
            raise unknown_name(NEURONS.kind, self.neuron, NEURONS.available(), f" ({w}.neuron)")
        spec = self.spec
        _check_range(self.bias_mant, *spec.bias_mant_range, f"{w}.bias_mant ({spec.name})")
        _check_range(self.bias_exp, *spec.bias_exp_range, f"{w}.bias_exp ({spec.name})")
        _check_range(self.threshold, *spec.threshold_range, f"{w}.threshold ({spec.name})")
        _check_range(self.v0, *spec.v_range, f"{w}.v0 ({spec.name})")
        if (
            spec.uniform_threshold
            and self.threshold.size
            and (self.threshold != self.threshold[0]).any()
        ):
            raise ValueError(
                f"{w}.threshold: {spec.name} (Lava LIF) has one threshold per layer; got "
                f"{len(np.unique(self.threshold))} distinct values; fold them into the weights"
            )
        # v0 must not already be at or past the firing level (else the layer would spike before
        # its first input arrives, which the pipeline-latency accounting forbids).
        th_v = self.threshold * spec.threshold_unit
        if spec.uniform_threshold:
            bad = self.v0 > th_v
        else:
            bad = self.v0 >= th_v
        if spec.signed:
            bad = bad | (self.v0 <= -th_v)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{w}.v0[{i}] = {int(self.v0[i])} is at or beyond the firing threshold "
                f"{int(th_v[i])}; initial potentials must lie strictly inside it"
            )

    @property
    def spec(self) -> NeuronModel:
        """The layer's neuron model (its integer step and fixed-point fields)."""
        return NEURONS.get(self.neuron)

    @property
    def groups(self) -> tuple[tuple[np.ndarray, int], ...]:
        """The Dense weight groups ``((W, e), [(W_fine, e_fine)])`` whose outputs add up."""
        return _groups(self)

    @property
    def n_out(self) -> int:
        return int(self.weight.shape[0])

    @property
    def n_in(self) -> int:
        return int(self.weight.shape[1])

    @property
    def bias(self) -> np.ndarray:
        """Effective bias ``bias_mant << bias_exp`` in the neuron's ``v`` units."""
        return self.bias_mant << self.bias_exp


@dataclass(frozen=True)
class IntReadout:
    """The non-spiking output integrator: Dense weights into an accumulator, plus a bias."""

    weight: np.ndarray  # (n_out, n_in)
    weight_exp: int
    bias: np.ndarray  # (n_out,), in Dense-output units, added once per step on decoding
    name: str = "readout"
    fine_weight: np.ndarray | None = None  # second Dense group (see IntLayer), or None
    fine_exp: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "weight", _int_array(self.weight, f"{self.name}.weight", 2))
        _check_fine(self, self.name)
        b = _int_array(self.bias, f"{self.name}.bias", 1)
        if b.shape[0] != self.weight.shape[0]:
            raise ValueError(
                f"{self.name}.bias has {b.shape[0]} entries but weight has "
                f"{self.weight.shape[0]} rows"
            )
        _check_range(b, -(2**31), 2**31 - 1, f"{self.name}.bias (int32)")
        object.__setattr__(self, "bias", b)
        object.__setattr__(self, "weight_exp", _check_exp(self.weight_exp, self.name))

    @property
    def groups(self) -> tuple[tuple[np.ndarray, int], ...]:
        """The Dense weight groups ``((W, e), [(W_fine, e_fine)])`` whose outputs add up."""
        return _groups(self)


def _float_vector(value: object, n: int, where: str) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,):
        raise ValueError(f"{where} must be a scalar or have shape ({n},), got {arr.shape}")
    if not (np.isfinite(arr).all() and (arr > 0).all()):
        raise ValueError(f"{where} must be finite and > 0, got {arr}")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True)
class IntegerNetwork:
    """A chain of integer layers plus the float scales that map to and from the float world."""

    hidden: tuple[IntLayer, ...]
    readout: IntReadout
    input_scale: np.ndarray  # (n_in,) float: x_q = round(x / input_scale)
    output_scale: np.ndarray  # (n_out,) float: y = output_scale * (acc / T + bias)
    T: int

    def __post_init__(self) -> None:
        hidden = tuple(self.hidden)
        if not hidden:
            raise ValueError("IntegerNetwork.hidden must hold at least one IntLayer")
        for i, la in enumerate(hidden):
            if not isinstance(la, IntLayer):
                raise TypeError(f"IntegerNetwork.hidden[{i}] must be an IntLayer")
        object.__setattr__(self, "hidden", hidden)
        if not isinstance(self.readout, IntReadout):
            raise TypeError("IntegerNetwork.readout must be an IntReadout")
        object.__setattr__(self, "T", check_T(self.T, "IntegerNetwork.T"))
        first = hidden[0]
        if first.fine_weight is not None:
            raise ValueError(
                f"hidden[0] ({first.name}).fine_weight: the first layer runs on the host with "
                "16-bit weights; it takes no second weight group"
            )
        _check_range(
            first.weight,
            -HOST_WEIGHT_MAX,
            HOST_WEIGHT_MAX,
            f"hidden[0] ({first.name}).weight (host, signed 16-bit)",
        )
        for i in range(1, len(hidden)):
            la, prev = hidden[i], hidden[i - 1]
            where = f"hidden[{i}] ({la.name})"
            if la.n_in != prev.n_out:
                raise ValueError(
                    f"{where} takes {la.n_in} inputs but layer {i - 1} has {prev.n_out}"
                )
            self._check_synapse(la.groups, prev, la.spec, where)
        ro = self.readout
        if ro.weight.shape[1] != hidden[-1].n_out:
            raise ValueError(
                f"readout takes {ro.weight.shape[1]} inputs but the last hidden layer has "
                f"{hidden[-1].n_out} neurons"
            )
        self._check_synapse(ro.groups, hidden[-1], None, f"readout ({ro.name})")
        object.__setattr__(
            self, "input_scale", _float_vector(self.input_scale, first.n_in, "input_scale")
        )
        object.__setattr__(
            self,
            "output_scale",
            _float_vector(self.output_scale, ro.weight.shape[0], "output_scale"),
        )

    @staticmethod
    def _check_synapse(groups, prev: IntLayer, spec: NeuronModel | None, where: str) -> None:
        for k, (w, exp) in enumerate(groups):
            _check_dense(w, exp, f"{where}{'.fine' if k else ''}", prev.spec.levels)
        if spec is not None and spec.act_shift:
            if len(groups) > 1:
                raise ValueError(
                    f"{where}: {spec.name} (Lava's LIF) takes one Dense group (its synaptic "
                    "input is narrower than the sum of two); drop fine_weight"
                )
            w, exp = groups[0]
            amax = fp.dense_max_abs_output(w, exp, prev.spec.levels) << spec.act_shift
            if amax > fp.UV_MAX:
                raise ValueError(
                    f"{where}: synaptic input can reach {amax} in v units, beyond the 24-bit LIF "
                    f"current (|u| <= {fp.UV_MAX}); lower the weights or weight_exp"
                )

    # ------------------------------------------------------------------ properties
    @property
    def in_features(self) -> int:
        return self.hidden[0].n_in

    @property
    def out_features(self) -> int:
        return int(self.readout.weight.shape[0])

    @property
    def depth(self) -> int:
        """Number of hidden layers ``L`` (= pipeline latency of the Lava graph in steps)."""
        return len(self.hidden)

    @property
    def sizes(self) -> list[int]:
        return [self.in_features, *(la.n_out for la in self.hidden), self.out_features]

    def graded_input(self, i: int) -> bool:
        """Whether the synapse into hidden layer ``i`` (or the readout, ``i = L``) carries signed
        or multi-level spikes, i.e. needs Lava's graded spikes (``num_message_bits > 0``)."""
        return self.hidden[i - 1].spec.graded

    # ------------------------------------------------------------------ host-side encoding
    def quantize_input(self, x: np.ndarray) -> np.ndarray:
        """``x_q = round(x / input_scale)`` as int64; ``ValueError`` if outside signed 16-bit."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"x must have shape (n_points, {self.in_features}), got {x.shape}")
        if not np.isfinite(x).all():
            raise ValueError("x holds NaN or inf values")
        xq = np.rint(x / self.input_scale).astype(np.int64)
        if xq.size and np.abs(xq).max() > X_MAX:
            raise ValueError(
                f"quantized input reaches {int(np.abs(xq).max())}, beyond signed {X_BITS}-bit; "
                f"raise input_scale"
            )
        return xq

    def input_current(self, x: np.ndarray) -> np.ndarray:
        """First-layer current per point ``(n_points, n_0)`` in the neuron's v units (int64)."""
        la = self.hidden[0]
        xq = self.quantize_input(x)
        a = fp.shift(xq @ la.weight.T, la.weight_exp)
        return (a << la.spec.act_shift) + la.bias[None, :]

    def encode_input(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The first layer's bias fields ``(bias_mant, bias_exp)`` per point, ``(n_points, n_0)``.

        Custom IF neurons take the current as is (it must fit 24 bits). Lava's LIF takes a
        13-bit mantissa and a 3-bit exponent: the current is rounded (warned when inexact).
        """
        la = self.hidden[0]
        cur = self.input_current(x)
        spec = la.spec
        if spec.bias_exp_range == (0, 0):
            lo, hi = spec.bias_mant_range
            if cur.size and (cur.min() < lo or cur.max() > hi):
                bad = int(np.unravel_index(np.argmax(np.abs(cur)), cur.shape)[0])
                raise ValueError(
                    f"hidden[0] ({la.name}): input current of point {bad} is outside [{lo}, {hi}]; "
                    f"raise input_scale or lower the first-layer weights"
                )
            return cur, np.zeros_like(cur)
        mant, exp, eff = fp.encode_lif_bias(cur)
        if (eff != cur).any():
            # a log record, not a warning: Lava's LIF bias is a 13-bit mantissa with a 3-bit
            # exponent, so a large current loses its low bits (under 2**-12 of it); the twin
            # and Lava round alike and the reported errors include it: nothing to act on
            err = np.abs(eff - cur)
            rel = float((err / np.maximum(np.abs(cur), 1)).max())
            log.info(
                "hidden[0] (%s): LIF bias encoding rounds the input current by up to %d v units "
                "(%.2g of that current)",
                la.name,
                int(err.max()),
                rel,
            )
        return mant, exp

    def decode(self, acc: np.ndarray) -> np.ndarray:
        """``y = output_scale * (acc / T + bias_out)`` (float64)."""
        acc = np.asarray(acc, dtype=np.float64)
        return self.output_scale * (acc / self.T + self.readout.bias)


def random_network(
    rng: np.random.Generator,
    sizes: list[int],
    neuron: str,
    T: int,
    *,
    threshold: int | None = None,
    weight_groups: int = 1,
) -> IntegerNetwork:
    """A random valid :class:`IntegerNetwork` (for tests and benchmarks), active but not saturated.

    ``sizes = [n_in, n_1, ..., n_L, n_out]``. Weights are mixed-sign even 8-bit values; the IF
    neurons' Dense layers draw ``weight_exp`` from -2..0 (a right shift floors the summed input).
    ``weight_groups=2`` (custom IF neurons only) adds a fine group to every Dense synapse and
    the readout, ``1..7`` exponents lower (not below -8).
    """
    spec = NEURONS.get(neuron)
    check_weight_groups(weight_groups, "weight_groups")
    if weight_groups == 2 and spec.act_shift:
        raise ValueError(f"weight_groups=2 needs a custom IF neuron, not {neuron!r}")

    def fine(exp: int, n_out: int, n_in: int) -> dict:
        if weight_groups == 1 or exp <= WEIGHT_EXP_RANGE[0]:
            return {}
        e_f = max(exp - int(rng.integers(1, 8)), WEIGHT_EXP_RANGE[0])
        return {"fine_weight": 2 * rng.integers(-127, 128, size=(n_out, n_in)), "fine_exp": e_f}

    L = len(sizes) - 2
    if L < 1:
        raise ValueError(f"sizes needs at least one hidden layer, got {sizes}")
    hidden = []
    for i in range(L):
        n_in, n_out = sizes[i], sizes[i + 1]
        lif = spec.act_shift > 0
        if i == 0:  # x_q = x * 256; a = (W x_q) >> 8 ~ W x
            hi = 40 if lif else 300
            w, exp = rng.integers(-hi, hi + 1, size=(n_out, n_in)), -8
        elif lif:
            w, exp = 2 * rng.integers(-40, 41, size=(n_out, n_in)), -3
        else:  # exponents -2..0 at about the same activity: larger mantissas (<= 254)
            exp = int(rng.integers(-2, 1))
            hi = min(127, 40 << -exp)
            w = 2 * rng.integers(-hi, hi + 1, size=(n_out, n_in))
        if spec.uniform_threshold:
            th_mant = threshold or int(rng.integers(20, 60))
            th = np.full(n_out, th_mant)
            th_v = th * spec.threshold_unit
            bm = rng.integers(-200, 800, size=n_out)
            be = rng.integers(0, 3, size=n_out)
            v0 = (th_v * rng.uniform(0.0, 1.0, size=n_out)).astype(np.int64)
        else:
            th = (
                rng.integers(80, 400, size=n_out)
                if threshold is None
                else np.full(n_out, threshold)
            )
            bm = rng.integers(-20, 60, size=n_out)
            be = np.zeros(n_out, dtype=np.int64)
            lo = -th + 1 if spec.signed else np.zeros(n_out, dtype=np.int64)
            v0 = (lo + (th - lo) * rng.uniform(0.0, 1.0, size=n_out)).astype(np.int64)
            v0 = np.minimum(v0, th - 1)
        extra = fine(exp, n_out, n_in) if i > 0 else {}
        hidden.append(IntLayer(w, exp, bm, be, th, v0, neuron, name=f"layer{i}", **extra))
    w_out = 2 * rng.integers(-60, 61, size=(sizes[-1], sizes[-2]))
    readout = IntReadout(
        w_out, 0, rng.integers(-100, 100, size=sizes[-1]), **fine(0, sizes[-1], sizes[-2])
    )
    return IntegerNetwork(tuple(hidden), readout, 1.0 / 256, 1.0 / 64, T)
