"""From a run's measured spikes to energy: activity files and energy reports.

    res = hardware.run(net, x, backend="lava-cpu")
    rep = energy_report(res, errors={"u": 0.004})       # every built-in profile, ANN beside
    save_activity(res, "runs/ns/activity_lava-cpu.json")  # the same record, reloadable

:func:`energy_report` turns a :class:`~hardware.runner.RunResult` (or a saved activity record)
into an :class:`~hardware.energy.EnergyReport`: NeuroBench counts per sample (effective and dense
synaptic operations, activation sparsity) priced under each profile, the ANN baseline always
beside the SNN. The ANN is the network the SNN was converted from (its widths come from the
conversion metadata, see :func:`hardware.runner.ann_spec`).

An activity file (``activity_<backend>.json``)::

    {"format": "lava-pinn-activity", "format_version": 1,
     "run": {backend, arithmetic, n_points, T, steps, wall_s, versions, ...},
     "ann": {"widths": [...], "activation": "tanh"},
     "activity": SNNActivity.to_dict()}
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hardware.activity import ANNSpec, SNNActivity
from hardware.energy import DEFAULT_PROFILES, EnergyProfile, EnergyReport, estimate_energy
from hardware.runner import ann_spec
from lava_pinn.checkpoint import atomic_write_bytes

FORMAT = "lava-pinn-activity"
FORMAT_VERSION = 1


@dataclass(frozen=True, eq=False)
class ActivityRecord:
    """A saved run: its measured activity, its ANN baseline and the run's description."""

    activity: SNNActivity
    ann: ANNSpec
    run: dict
    ann_basis: str = "not stated"

    @property
    def backend(self) -> str:
        return str(self.run.get("backend", self.activity.source))


def record_of(result: Any) -> ActivityRecord:
    """The :class:`ActivityRecord` of a :class:`~hardware.runner.RunResult`."""
    basis = (
        "the ANN the SNN was converted from (widths from the conversion metadata)"
        if result.metadata.get("units")
        else "a dense ANN with the SNN's own layer sizes (no conversion metadata)"
    )
    return ActivityRecord(result.activity(), ann_spec(result), result.summary(), basis)


def to_dict(record: ActivityRecord) -> dict:
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "run": record.run,
        "ann": {
            "widths": list(record.ann.widths),
            "activation": record.ann.activation,
            "basis": record.ann_basis,
        },
        "activity": record.activity.to_dict(),
    }


def activity_bytes(result_or_record: Any) -> bytes:
    """The activity record of a run (a ``RunResult`` or :class:`ActivityRecord`) as the JSON
    bytes :func:`save_activity` writes."""
    rec = result_or_record
    if not isinstance(rec, ActivityRecord):
        rec = record_of(rec)
    return (json.dumps(to_dict(rec), indent=1) + "\n").encode()


def save_activity(result_or_record: Any, path: str | Path) -> Path:
    """Write the activity record of a run as JSON, atomically."""
    return atomic_write_bytes(path, activity_bytes(result_or_record))


def load_activity(path: str | Path) -> ActivityRecord:
    """Read an activity file; ``ValueError`` naming the file on anything malformed."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"activity file {path} does not exist") from None
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: unreadable activity file ({err})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{path}: not a lava-pinn activity file (no 'format': '{FORMAT}')")
    if int(data.get("format_version", 0)) > FORMAT_VERSION:
        raise ValueError(
            f"{path}: activity format {data['format_version']} is newer than this lava-pinn "
            f"reads ({FORMAT_VERSION}); upgrade lava-pinn"
        )
    try:
        act = SNNActivity.from_dict(data["activity"])
        ann = ANNSpec(tuple(data["ann"]["widths"]), data["ann"].get("activation", "tanh"))
        run = dict(data.get("run", {}))
        basis = str(data["ann"].get("basis", "not stated"))
    except (KeyError, TypeError) as err:
        raise ValueError(f"{path}: malformed activity file ({err})") from None
    return ActivityRecord(act, ann, run, basis)


def energy_report(
    measured: Any,
    *,
    ann: ANNSpec | None = None,
    profiles: Sequence[str | EnergyProfile] = DEFAULT_PROFILES,
    errors: Mapping[str, float] | None = None,
    label: str = "",
    **options: Any,
) -> EnergyReport:
    """Energy per inference of a measured run under each of ``profiles``, ANN beside it.

    ``measured``: a :class:`~hardware.runner.RunResult`, an :class:`ActivityRecord` or an
    :class:`~hardware.activity.SNNActivity` (then ``ann`` defaults to the SNN's own sizes, as
    :func:`hardware.energy.estimate_energy` does). ``options`` go to ``estimate_energy``
    (``ann_profile``, ``hops_per_spike``, ``analog_every_step``, ``seconds_per_inference``,
    ``measured``).
    """
    note = None
    if isinstance(measured, SNNActivity):
        activity = measured
    else:
        rec = measured if isinstance(measured, ActivityRecord) else record_of(measured)
        activity = rec.activity
        if ann is None:
            ann = rec.ann
            widths = "-".join(map(str, ann.widths))
            note = f"ANN baseline {widths} ({ann.activation}): {rec.ann_basis}"
        run = rec.run
        if run.get("arithmetic"):
            label = label or f"{run.get('backend')} ({run['arithmetic']}), T={activity.T}"
    board = getattr(measured, "measured", None)
    if board is not None and "measured" not in options:
        options["measured"] = (board,)  # a board's power measurement goes beside the estimates
    rep = estimate_energy(activity, ann, profiles, errors=errors, label=label, **options)
    if note:
        rep = dataclasses.replace(
            rep,
            assumptions=(
                *rep.assumptions,
                note,
            ),
        )
    return rep
