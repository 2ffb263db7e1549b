"""``signed-if``: integrate-and-fire with spikes in {-1, 0, +1}, soft reset.

Float: ``v <- v + I;  s = [v >= V_th] - [v <= -V_th];  v <- v - s V_th``.
Integer: the same on ``v <- sat24(v + a + bias)``; the spikes travel as graded messages.
"""

from __future__ import annotations

from lava_pinn.neurons.model import Array, NeuronModel, at_least, saturate


def step(v: Array, current: Array, threshold: Array) -> tuple[Array, Array]:
    """Float step; returns ``(s (int), v)``."""
    v = v + current
    s = (v >= threshold) * 1 - (v <= -threshold) * 1
    return s, v - s * threshold


def int_step(state: tuple, a: Array, bias: Array, threshold: Array) -> tuple[Array, tuple]:
    """Integer step; returns ``(s in {-1, 0, 1}, (v,))``."""
    (v,) = state
    v = saturate(v + (a + bias))
    s = at_least(v, threshold) - at_least(-v, threshold)
    return s, (v - s * threshold,)


MODEL = NeuronModel(
    name="signed-if",
    description="IF with +1/-1 spikes, soft reset",
    step=step,
    int_step=int_step,
    signed=True,
)
