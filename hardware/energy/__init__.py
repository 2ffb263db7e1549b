"""Energy per inference of converted SNNs and their ANN baselines under named chip profiles.

Submodules: :mod:`~hardware.energy.profiles` (profile files and registry),
:mod:`~hardware.energy.counts` (NeuroBench-style operation counts),
:mod:`~hardware.energy.estimate` (pricing), :mod:`~hardware.energy.measured` (lava-loihi's
power profiler, where available).
"""

from hardware.energy.counts import (
    DeltaLayerOps,
    DeltaOps,
    LayerOps,
    OperationCounts,
    count_operations,
)
from hardware.energy.estimate import (
    DEFAULT_PROFILES,
    DELTA_PROFILES,
    EnergyEstimate,
    EnergyReport,
    LayerEnergy,
    ann_layer_energy,
    delta_layer_energy,
    estimate,
    estimate_delta,
    estimate_energy,
    report_from_dict,
    snn_layer_energy,
)
from hardware.energy.measured import (
    MeasuredEnergy,
    ProfilerUnavailable,
    loihi2_profiler_status,
    measure_loihi2,
)
from hardware.energy.profiles import (
    EnergyProfile,
    available_profiles,
    get_profile,
    graded_op_pj,
    load_profile,
    profile_from_dict,
    profiles,
    register_profile,
)

__all__ = [
    "DEFAULT_PROFILES",
    "DELTA_PROFILES",
    "DeltaLayerOps",
    "DeltaOps",
    "EnergyEstimate",
    "EnergyProfile",
    "EnergyReport",
    "LayerEnergy",
    "LayerOps",
    "MeasuredEnergy",
    "OperationCounts",
    "ProfilerUnavailable",
    "ann_layer_energy",
    "available_profiles",
    "count_operations",
    "delta_layer_energy",
    "estimate",
    "estimate_delta",
    "estimate_energy",
    "get_profile",
    "graded_op_pj",
    "load_profile",
    "loihi2_profiler_status",
    "measure_loihi2",
    "profile_from_dict",
    "profiles",
    "register_profile",
    "report_from_dict",
    "snn_layer_energy",
]
