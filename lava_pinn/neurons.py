"""Spiking neuron models, each written down once as a pure step function.

Every step takes the membrane potential ``v``, the input current of this time step and the
threshold, and returns ``(spikes, v_next)``. Only operators that numpy arrays and torch tensors
share are used (``+ - * // >= ~``, ``.clip`` and bool arithmetic), so the same function drives the
torch simulator of :mod:`lava_pinn` and the floating-point Lava process models of :mod:`exporters`
(which must not call torch). Units: ``v``, ``current`` and ``threshold`` are in the same arbitrary
unit (that of the ANN pre-activation); spikes are dimensionless counts.

Time-averaged over ``T`` steps with a constant current ``z`` and ``v(0) = threshold/2`` (the
rounding shift of the calibration paper) the soft-reset neuron fires
``clip(round(z*T/V_th), 0, T)`` times, so ``rate * V_th`` approximates ``clip(z, 0, V_th)``.
A graded neuron (``levels = P > 1``) sends up to ``P`` quanta of ``V_th`` per step: its count
is ``clip(round(z*T/V_th), 0, P*T)`` and its rate (count / T) lies in ``[0, P]``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lava_pinn.registry import Registry

Array = Any  # numpy.ndarray or torch.Tensor


def if_soft_step(v: Array, current: Array, threshold: Array) -> tuple[Array, Array]:
    """Non-leaky integrate-and-fire, soft reset, non-negative spikes (Li et al. 2021).

    ``v <- v + I;  s = [v >= V_th];  v <- v - s * V_th``.  Returns ``(s (bool), v)``.
    """
    v = v + current
    s = v >= threshold
    return s, v - s * threshold


def signed_if_step(v: Array, current: Array, threshold: Array) -> tuple[Array, Array]:
    """Signed integrate-and-fire, soft reset, spikes in {-1, 0, +1}.

    ``v <- v + I;  s = [v >= V_th] - [v <= -V_th];  v <- v - s * V_th``.  Returns ``(s (int), v)``.
    """
    v = v + current
    s = (v >= threshold) * 1 - (v <= -threshold) * 1
    return s, v - s * threshold


GRADED_LEVELS = 15  # a 4-bit graded-spike payload
GRADED_MARGIN = 15  # graded IF: v is held within GRADED_MARGIN quanta of the firing range


def hold(v: Array, lo: Array, hi: Array) -> Array:
    """``v`` limited to ``[lo, hi]`` elementwise (bounds broadcast against ``v``; numpy and
    torch alike: only ``+ -`` and ``.clip(min=0)``)."""
    v = v - (v - hi).clip(min=0)
    return v + (lo - v).clip(min=0)


def graded_if_step(v: Array, current: Array, threshold: Array) -> tuple[Array, Array]:
    """Integrate-and-fire with graded spikes (Loihi 2 payloads), soft reset, bounded potential.

    ``v <- clip(v + I, -M V_q, (P + M) V_q);  s = clip(floor(v / V_q), 0, P);  v <- v - s V_q``
    with ``P =`` :data:`GRADED_LEVELS` (15: a 4-bit payload) and ``M =`` :data:`GRADED_MARGIN`
    (15). ``threshold`` is the quantum ``V_q`` (one payload unit); the neuron sends up to ``P``
    quanta per step, so with a constant current its count over ``T`` steps is
    ``clip(round(I T / V_q), 0, P T)`` (``v(0) = V_q/2``): ``P`` times the resolution of a binary
    IF neuron at the same ``T``. The bound forgets input more than ``M`` quanta beyond the firing
    range (a silent neuron under a strongly negative current, a saturated one under a strongly
    positive one), so ``|v|`` never exceeds ``(P + M) V_q``: in fixed point the potential needs
    ``log2(P + M)`` bits above the threshold instead of ``log2(T max|I| / V_q)`` (about 16 for a
    1536-wide layer at ``T = 64``), and the threshold gets those bits back. Measured on the
    Navier-Stokes network with 24 graded pieces per unit (a scratch run on 2048 grid points):
    identical errors (to 0.001%) for ``M >= 4`` and without the bound; the export benchmark's
    ``pwl/graded-if/advanced`` float SNN error is also unchanged (``docs/results/export.md``).
    Returns ``(s (0..P), v)``.
    """
    v = hold(v + current, -GRADED_MARGIN * threshold, (GRADED_LEVELS + GRADED_MARGIN) * threshold)
    s = (v // threshold).clip(0, GRADED_LEVELS)
    return s, v - s * threshold


def lif_hard_step(v: Array, current: Array, threshold: Array) -> tuple[Array, Array]:
    """Lava's built-in LIF with ``du = 1`` (current = this step's input), ``dv = 0``: hard reset.

    ``v <- v + I;  s = [v > V_th] (strict);  v <- 0 where s``.  Returns ``(s (bool), v)``.
    The residue above threshold is lost at each spike, so the rate is biased low.
    """
    v = v + current
    s = v > threshold
    return s, v * (~s)


@dataclass(frozen=True)
class NeuronModel:
    """A neuron model: its step function and the properties conversion and export rely on."""

    name: str
    step: Callable[[Array, Array, Array], tuple[Array, Array]]
    signed: bool
    reset: str  # "soft" or "hard"
    hardware_native: bool  # runs on Loihi 2 without custom microcode
    description: str
    levels: int = 1  # largest spike magnitude (payload): 1 for binary and signed spikes
    # the step holds v within [-v_margin, levels + v_margin] thresholds (None: unbounded)
    v_margin: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.levels, bool) or not isinstance(self.levels, int) or self.levels < 1:
            raise ValueError(f"NeuronModel.levels must be an integer >= 1, got {self.levels!r}")
        if self.v_margin is not None and (
            isinstance(self.v_margin, bool)
            or not isinstance(self.v_margin, int)
            or self.v_margin < 1
        ):
            raise ValueError(
                f"NeuronModel.v_margin must be None or an integer >= 1, got {self.v_margin!r}"
            )
        if self.reset not in ("soft", "hard"):
            raise ValueError(f"NeuronModel.reset must be 'soft' or 'hard', got {self.reset!r}")
        if not callable(self.step):
            raise TypeError(f"NeuronModel.step must be callable, got {self.step!r}")

    @property
    def graded(self) -> bool:
        """Whether a spike carries more than one bit (signed or multi-level): it travels as a
        graded message, and the number of messages differs from the spike count."""
        return self.signed or self.levels > 1


NEURONS: Registry[NeuronModel] = Registry("neuron model")
NEURONS.register(
    "if",
    NeuronModel("if", if_soft_step, False, "soft", False, "non-leaky IF, soft reset, spikes >= 0"),
)
NEURONS.register(
    "signed-if",
    NeuronModel(
        "signed-if", signed_if_step, True, "soft", False, "IF with +1/-1 spikes, soft reset"
    ),
)
NEURONS.register(
    "graded-if",
    NeuronModel(
        "graded-if",
        graded_if_step,
        False,
        "soft",
        False,
        f"IF with graded spikes of 0..{GRADED_LEVELS} quanta (4-bit payload), soft reset, "
        f"potential held within {GRADED_MARGIN} quanta of the firing range",
        GRADED_LEVELS,
        GRADED_MARGIN,
    ),
)
NEURONS.register(
    "lif-hard",
    NeuronModel(
        "lif-hard", lif_hard_step, False, "hard", True, "Lava LIF (du=1, dv=0), hard reset"
    ),
)


def get_neuron(name: str) -> NeuronModel:
    return NEURONS.get(name)


def available() -> list[str]:
    return NEURONS.available()
