"""Sigma-delta networks in integers: quantization (:mod:`.intnet`), the integer twin
(:mod:`.twin`), the Lava ``fixed_pt`` graph (:mod:`.lava_graph`, equal to the twin)."""

from exporters.sigma_delta.intnet import IntDeltaLayer, IntDeltaNetwork, Synapses, quantize_delta
from exporters.sigma_delta.lava_graph import (
    DeltaGraph,
    build_delta_graph,
    run_lava_static,
    run_lava_stream,
)
from exporters.sigma_delta.twin import DeltaRun, run_static, run_stream

__all__ = [
    "DeltaGraph",
    "DeltaRun",
    "IntDeltaLayer",
    "IntDeltaNetwork",
    "Synapses",
    "build_delta_graph",
    "quantize_delta",
    "run_lava_static",
    "run_lava_stream",
    "run_static",
    "run_stream",
]
