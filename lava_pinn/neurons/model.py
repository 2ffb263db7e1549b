"""What a neuron model is: :class:`NeuronModel`, the one record conversion, calibration, the
torch simulator, the quantizer, the integer twin and the Lava process models all read.

A model gives three views of one neuron, each a pure function on numpy arrays *and* torch
tensors (only the operators the two share: ``+ - * // >> >= <= .clip``), so the same code runs
in torch and inside Lava's numpy process models:

* ``step(v, current, threshold) -> (s, v)``: the float neuron, in the ANN pre-activation unit.
* ``int_step(state, a, bias, threshold) -> (s, state)``: the integer neuron as deployed.
  ``state`` is a tuple of integer arrays named by ``state_vars`` (``"v"`` among them), ``a``
  the Dense output of this step, ``bias`` the neuron's bias field, ``threshold`` its integer
  threshold; ``s`` the spike payload (int).
* ``rate(I, V, v0, T)``: the time-averaged output of the float neuron under a constant current
  ``I`` over ``T`` steps, differentiable (straight-through), for calibration and fine-tuning.

and the facts the other layers need: spike signs and payload levels, reset, the bound on ``v``,
the fixed-point fields' ranges, whether Loihi 2 runs it natively, and how it maps to Lava
(``lava="custom"``: the registry-built windowed process of :mod:`exporters.lava_procs`;
``lava="lif"``: Lava's own ``LIF`` with ``lif_decay = (du, dv)``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lava_pinn.validation import check_count

Array = Any  # numpy.ndarray or torch.Tensor

UV_BITS = 24
V_LIMIT = 2 ** (UV_BITS - 1) - 1  # |v| <= 2**23 - 1: the 24-bit potential of Loihi 2 neurons
V24 = (-V_LIMIT, V_LIMIT)

LAVA_MAPPINGS = ("custom", "lif")
CODINGS = ("rate", "delta")
RESETS = ("soft", "hard")


def hold(v: Array, lo: Array, hi: Array) -> Array:
    """``v`` limited to ``[lo, hi]`` elementwise (bounds broadcast against ``v``; numpy and
    torch alike: only ``+ -`` and ``.clip(min=0)``)."""
    v = v - (v - hi).clip(min=0)
    return v + (lo - v).clip(min=0)


def saturate(v: Array) -> Array:
    """``v`` saturated to the symmetric 24-bit range ``[-(2**23-1), 2**23-1]``."""
    return v.clip(-V_LIMIT, V_LIMIT)


def at_least(v: Array, th: Array) -> Array:
    """``[v >= th]`` as 0/1 in ``v``'s type for integer-valued ``v`` and ``th``:
    ``clip(v - th + 1, 0, 1)`` (arithmetic only, no boolean tensors)."""
    return (v - (th - 1)).clip(0, 1)


def _round_ste(q):
    return q + (q.floor() - q).detach()


def count_rate(model: NeuronModel, I, V, v0, T: int):
    """Straight-through rate of a soft-reset integrate-and-fire neuron with constant current
    ``I``: ``clip(floor((v0 + T I) / V), lo, hi) / T`` with ``(lo, hi) =`` :meth:`NeuronModel.
    count_range` (signed spikes: truncation towards zero). The forward value is the spike count
    a soft-reset neuron reaches from ``v0``; the gradient is that of ``(v0 + T I) / (V T)``
    inside the range."""
    import torch  # here, not at module level: Lava's numpy process models import this module

    q = (v0 + T * I) / V
    lo, hi = model.count_range(T)
    if model.signed:
        c = torch.where(q >= 0, _round_ste(q), -_round_ste(-q))
        return c.clamp(lo, hi) / T
    return _round_ste(q).clamp(lo, hi) / T


def _check_range(value: object, name: str) -> None:
    ok = (
        isinstance(value, tuple)
        and len(value) == 2
        and all(isinstance(b, int) and not isinstance(b, bool) for b in value)
        and value[0] <= value[1]
    )
    if not ok:
        raise ValueError(f"NeuronModel.{name} must be a (lo, hi) pair of ints, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class NeuronModel:
    """One neuron model (see the module docstring). Register it with
    :func:`lava_pinn.neurons.register_neuron`; look it up with ``NEURONS.get(name)``."""

    name: str
    description: str
    step: Callable[[Array, Array, Array], tuple[Array, Array]]
    int_step: Callable[[tuple, Array, Array, Array], tuple[Array, tuple]]
    rate: Callable[..., Any] = count_rate  # (model, I, V, v0, T) -> rate
    signed: bool = False  # spikes of either sign
    levels: int = 1  # largest spike magnitude (graded payload); 1 for binary and signed spikes
    reset: str = "soft"
    v_margin: int | None = None  # the step holds v within [-m, levels + m] thresholds
    state_vars: tuple[str, ...] = ("v",)
    # fixed point: a enters v as a << act_shift; the threshold compares as threshold * unit
    act_shift: int = 0
    bias_mant_range: tuple[int, int] = V24
    bias_exp_range: tuple[int, int] = (0, 0)
    threshold_range: tuple[int, int] = (1, V_LIMIT)
    v_range: tuple[int, int] = V24
    uniform_threshold: bool = False  # one threshold per layer
    threshold_unit: int = 1
    # int_step only adds, compares, clips, floor-divides and multiplies by spikes: exact on
    # integer-valued floats below 2**24 (float32) or 2**53 (float64); the twin's fast path
    exact_on_floats: bool = True
    loihi_native: bool = False  # runs on Loihi 2 without custom microcode
    lava: str = "custom"
    lif_decay: tuple[int, int] | None = None  # (du, dv) for lava="lif"
    # "rate": the spike count over T steps carries the value (everything above);
    # "delta": a sigma-delta neuron (lava_pinn.neurons.sigma_delta): step(state, a, params) and
    # int_step(state, a, params) with a DeltaParams, run by lava_pinn.sigma_delta
    coding: str = "rate"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"NeuronModel.name must be a non-empty string, got {self.name!r}")
        for f in ("step", "int_step", "rate"):
            if not callable(getattr(self, f)):
                raise TypeError(f"NeuronModel.{f} must be callable, got {getattr(self, f)!r}")
        check_count(self.levels, "NeuronModel.levels", 1)
        if self.v_margin is not None:
            check_count(self.v_margin, "NeuronModel.v_margin", 1)
        if self.reset not in RESETS:
            raise ValueError(f"NeuronModel.reset must be one of {RESETS}, got {self.reset!r}")
        if self.lava not in LAVA_MAPPINGS:
            raise ValueError(f"NeuronModel.lava must be one of {LAVA_MAPPINGS}, got {self.lava!r}")
        if self.coding not in CODINGS:
            raise ValueError(f"NeuronModel.coding must be one of {CODINGS}, got {self.coding!r}")
        if self.lava == "lif" and self.lif_decay is None:
            raise ValueError("NeuronModel.lif_decay (du, dv) is required with lava='lif'")
        if not isinstance(self.state_vars, tuple) or (
            self.coding == "rate" and "v" not in self.state_vars
        ):
            raise ValueError(
                f"NeuronModel.state_vars must be a tuple of names including 'v' (rate coding), got "
                f"{self.state_vars!r}"
            )
        check_count(self.act_shift, "NeuronModel.act_shift", 0)
        check_count(self.threshold_unit, "NeuronModel.threshold_unit", 1)
        for f in ("bias_mant_range", "bias_exp_range", "threshold_range", "v_range"):
            _check_range(getattr(self, f), f)

    @property
    def graded(self) -> bool:
        """Whether a spike carries more than one bit (signed or multi-level): it travels as a
        graded message, and the number of messages differs from the spike count."""
        return self.signed or self.levels > 1

    def count_range(self, T: int) -> tuple[int, int]:
        """Range of a neuron's net spike count over ``T`` steps: ``(-T or 0, levels * T)``."""
        return (-T if self.signed else 0, self.levels * T)

    def rate_of(self, I, V, v0, T: int):
        """The differentiable rate model: ``self.rate(self, I, V, v0, T)``."""
        return self.rate(self, I, V, v0, T)

    def initial_state(self, v0: Array) -> tuple:
        """The integer state at the start of a run: ``v = v0``, every other variable 0."""
        return tuple(v0 if n == "v" else v0 * 0 for n in self.state_vars)
