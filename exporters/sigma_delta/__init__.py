"""Sigma-delta networks in integers: quantization (:mod:`.intnet`), the integer twin
(:mod:`.twin`)."""

from exporters.sigma_delta.intnet import IntDeltaLayer, IntDeltaNetwork, Synapses, quantize_delta
from exporters.sigma_delta.twin import DeltaRun, run_static, run_stream

__all__ = [
    "DeltaRun",
    "IntDeltaLayer",
    "IntDeltaNetwork",
    "Synapses",
    "quantize_delta",
    "run_static",
    "run_stream",
]
