"""What the energy stage and the figures share: the backends and profiles it prices by default,
profile lookup by name or file, and a backend's errors from ``predictions.npz``."""

from __future__ import annotations

from pathlib import Path

from hardware.app.rundir import RunDir, array_key
from lava_pinn.metrics import field_errors

ENERGY_BACKENDS = ("lava-cpu", "loihi2", "torch-twin", "lava-cpu-float", "torch-float")
ENERGY_PROFILES = ("loihi2", "loihi", "cmos-45nm")


def _profile(spec: str):
    from hardware.energy import get_profile, load_profile

    if spec.endswith(".toml") or Path(spec).is_file():
        return load_profile(spec)
    return get_profile(spec)


def prediction_errors(rd: RunDir, backend: str) -> dict[str, float]:
    """Errors of ``snn_<backend>`` in ``predictions.npz`` against the exact (or reference)
    values, with the problem's gauge handling; ``{}`` where either is missing."""
    if not rd.file("predictions").is_file():
        return {}
    pred = rd.load_predictions()
    key = array_key(backend)
    ref_key = "exact" if "exact" in pred else "reference"
    if key not in pred or ref_key not in pred:
        return {}
    outputs = [f"y{i}" for i in range(pred[key].shape[1])]
    gauge: tuple[str, ...] = ()
    info = rd.problem_info()  # the registered problem or run.json's record of it
    if info is not None:
        outputs, gauge = list(info["outputs"]), tuple(info.get("gauge_fields") or ())
    return field_errors(pred[key], pred[ref_key], outputs, gauge)
