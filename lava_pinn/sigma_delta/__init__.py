"""Sigma-delta networks: graded messages that carry changes of the ANN's own activations
(:mod:`lava_pinn.neurons.sigma_delta` defines the neurons)."""

from lava_pinn.sigma_delta.convert import convert_sigma_delta, delta_neurons
from lava_pinn.sigma_delta.network import DeltaLayer, DeltaNetwork, run_float

__all__ = ["DeltaLayer", "DeltaNetwork", "convert_sigma_delta", "delta_neurons", "run_float"]
