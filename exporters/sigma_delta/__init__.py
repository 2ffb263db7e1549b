"""Sigma-delta networks in integers: quantization (:mod:`.intnet`), the integer twin
(:mod:`.twin`), the Lava ``fixed_pt`` graph (:mod:`.lava_graph`, equal to the twin);
``sigma-delta-relu`` networks for netx: :mod:`.relu_quant` (integers), :mod:`.netx` (the
SDNN file and its run, equal to :func:`.twin.run_pipeline`)."""

from exporters.sigma_delta.intnet import IntDeltaLayer, IntDeltaNetwork, Synapses, quantize_delta
from exporters.sigma_delta.lava_graph import (
    DeltaGraph,
    build_delta_graph,
    run_lava_static,
    run_lava_stream,
)
from exporters.sigma_delta.netx import export_sdnn, run_netx
from exporters.sigma_delta.relu_quant import quantize_relu
from exporters.sigma_delta.twin import DeltaRun, run_pipeline, run_static, run_stream

__all__ = [
    "DeltaGraph",
    "DeltaRun",
    "IntDeltaLayer",
    "IntDeltaNetwork",
    "Synapses",
    "build_delta_graph",
    "export_sdnn",
    "quantize_delta",
    "quantize_relu",
    "run_lava_static",
    "run_lava_stream",
    "run_netx",
    "run_pipeline",
    "run_static",
    "run_stream",
]
