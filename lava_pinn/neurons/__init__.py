"""Spiking neuron models: one module per model, one registry.

Each model (``if_soft``, ``signed_if``, ``graded_if``, ``lif_hard``, and the sigma-delta
models of ``sigma_delta``) is a
:class:`~lava_pinn.neurons.model.NeuronModel` holding its float step, integer step, rate model,
fixed-point fields and Lava mapping; :data:`NEURONS` maps names to them. A new model is one
module (or one script) that builds a ``NeuronModel`` and calls :func:`register_neuron`: the
converter, calibration, quantizer, integer twin and Lava process models pick it up by name.
"""

from __future__ import annotations

from lava_pinn.neurons import graded_if, if_soft, lif_hard, sigma_delta, signed_if
from lava_pinn.neurons.model import NeuronModel, count_rate, hold
from lava_pinn.registry import Registry

NEURONS: Registry[NeuronModel] = Registry("neuron model")


def register_neuron(model: NeuronModel, *, replace: bool = False) -> NeuronModel:
    """Register ``model`` under ``model.name`` (a duplicate name is an error unless
    ``replace=True``); returns it."""
    if not isinstance(model, NeuronModel):
        raise TypeError(f"register_neuron takes a NeuronModel, got {type(model).__name__}")
    return NEURONS.register(model.name, model, replace=replace)


for _builtin in (if_soft, signed_if, graded_if, lif_hard, sigma_delta):
    register_neuron(_builtin.MODEL)
del _builtin
register_neuron(sigma_delta.RELU_MODEL)

# the built-in steps and constants under their long-standing names
if_soft_step = if_soft.step
signed_if_step = signed_if.step
graded_if_step = graded_if.step
lif_hard_step = lif_hard.step
GRADED_LEVELS = graded_if.LEVELS
GRADED_MARGIN = graded_if.MARGIN


def get_neuron(name: str) -> NeuronModel:
    """The model registered as ``name``."""
    return NEURONS.get(name)


def available(coding: str | None = None) -> list[str]:
    """Names of the registered neuron models (only those with ``coding``, when given)."""
    if coding is None:
        return NEURONS.available()
    return [n for n in NEURONS.available() if NEURONS.get(n).coding == coding]


__all__ = [
    "NEURONS",
    "NeuronModel",
    "register_neuron",
    "get_neuron",
    "available",
    "count_rate",
    "hold",
    "if_soft_step",
    "signed_if_step",
    "graded_if_step",
    "lif_hard_step",
    "GRADED_LEVELS",
    "GRADED_MARGIN",
]
