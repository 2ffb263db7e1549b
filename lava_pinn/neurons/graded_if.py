"""``graded-if``: integrate-and-fire with graded spikes (Loihi 2 payloads), soft reset,
bounded potential.

Float: ``v <- hold(v + I, -M V_q, (P + M) V_q);  s = clip(floor(v / V_q), 0, P);
v <- v - s V_q`` with ``P =`` :data:`LEVELS` (a 4-bit payload) and ``M =`` :data:`MARGIN`.
``threshold`` is the quantum ``V_q``: with a constant current the count over ``T`` steps is
``clip(round(I T / V_q), 0, P T)`` (``v(0) = V_q / 2``), ``P`` times the resolution of a binary
IF neuron at the same ``T``. The bound forgets input more than ``M`` quanta beyond the firing
range, so ``|v| <= (P + M) V_q``: in fixed point the potential needs ``log2(P + M)`` bits above
the threshold, independent of ``T`` and the fan-in.

Integer: the same on ``v <- sat24(v + a + bias)`` (``th >= 1`` one quantum).
"""

from __future__ import annotations

from lava_pinn.neurons.model import Array, NeuronModel, hold, saturate

LEVELS = 15  # a 4-bit graded-spike payload
MARGIN = 15  # v is held within MARGIN quanta of the firing range


def step(v: Array, current: Array, threshold: Array) -> tuple[Array, Array]:
    """Float step; returns ``(s in 0..P, v)``."""
    v = hold(v + current, -MARGIN * threshold, (LEVELS + MARGIN) * threshold)
    s = (v // threshold).clip(0, LEVELS)
    return s, v - s * threshold


def int_step(state: tuple, a: Array, bias: Array, threshold: Array) -> tuple[Array, tuple]:
    """Integer step; returns ``(s in 0..P, (v,))``. When ``(P + M) th`` fits 24 bits (the
    quantizer sees to it) the saturation never changes the result."""
    (v,) = state
    v = hold(saturate(v + (a + bias)), -MARGIN * threshold, (LEVELS + MARGIN) * threshold)
    s = (v // threshold).clip(0, LEVELS)
    return s, (v - s * threshold,)


MODEL = NeuronModel(
    name="graded-if",
    description=(
        f"IF with graded spikes of 0..{LEVELS} quanta (4-bit payload), soft reset, "
        f"potential held within {MARGIN} quanta of the firing range"
    ),
    step=step,
    int_step=int_step,
    levels=LEVELS,
    v_margin=MARGIN,
)
