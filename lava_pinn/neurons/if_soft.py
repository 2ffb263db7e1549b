"""``if``: non-leaky integrate-and-fire, soft reset, binary spikes (Li et al. 2021).

Float: ``v <- v + I;  s = [v >= V_th];  v <- v - s V_th``. With ``v(0) = V_th / 2`` and a
constant current ``z`` it fires ``clip(round(z T / V_th), 0, T)`` times in ``T`` steps, so
``rate * V_th`` approximates ``clip(z, 0, V_th)``.

Integer: ``v <- sat24(v + a + bias);  s = [v >= th];  v <- v - s th`` (``th >= 1``, currents in
the unit of the synaptic input). A custom neuron: Loihi 2 needs microcode for the soft reset.
"""

from __future__ import annotations

from lava_pinn.neurons.model import Array, NeuronModel, at_least, saturate


def step(v: Array, current: Array, threshold: Array) -> tuple[Array, Array]:
    """Float step; returns ``(s (bool), v)``."""
    v = v + current
    s = v >= threshold
    return s, v - s * threshold


def int_step(state: tuple, a: Array, bias: Array, threshold: Array) -> tuple[Array, tuple]:
    """Integer step; returns ``(s (0/1 in v's type), (v,))``."""
    (v,) = state
    v = saturate(v + (a + bias))
    s = at_least(v, threshold)
    return s, (v - s * threshold,)


MODEL = NeuronModel(
    name="if",
    description="non-leaky IF, soft reset, spikes >= 0",
    step=step,
    int_step=int_step,
)
