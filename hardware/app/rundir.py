"""The run directory: one folder per study, shared by every ``lava-pinn`` stage.

A run directory holds the artifacts of the stages ``train -> convert -> export -> run -> energy
-> report`` under fixed names (:data:`ARTIFACTS`) and a manifest ``run.json`` that records, per
stage, the options it ran with and when it finished. A stage is *done* when its manifest entry
exists with the same options and its artifact is on disk; the pipeline skips done stages unless
asked to redo them. Every file is written atomically, so an interrupted run leaves each finished
artifact intact and never a half-written one.

``run.json``::

    {"format": "lava-pinn-run", "format_version": 1, "problem": "navier-stokes-tg",
     "lava_pinn_version": "0.1.0",
     "stages": {"convert": {"options": {...}, "finished": "2026-11-26T16:00:00+00:00",
                            "info": {...}}},
     "problem_info": {"outputs": ["u", "v", "p"], "gauge_fields": ["p"], "inputs": [...],
                      "domain": {"low": [...], "high": [...]}, "description": "...", ...},
     "problem_modules": [{"path": "/abs/my_problems.py", "sha256": "..."}]}

``problem_info`` is what ``report`` and ``energy`` need of the problem (recorded by the stage
that first knows the problem), so they work without its code; ``problem_modules`` lists the
user files given with ``--problem-module`` (:mod:`hardware.app.usermodules`); opening the run
directory checks them (changed, vanished) but never imports them.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from hardware.app import usermodules
from lava_pinn._version import __version__
from lava_pinn.checkpoint import atomic_write_bytes
from lava_pinn.registry import Registry

FORMAT = "lava-pinn-run"
FORMAT_VERSION = 1
MANIFEST = "run.json"


class RunDirError(ValueError):
    """A run directory is missing an artifact, or its manifest is unreadable or from another
    format version. The message says which command creates or re-creates what is missing."""


@dataclass(frozen=True)
class ArtifactSpec:
    """A file of the run directory: its name (may hold ``{backend}``) and the command making it."""

    key: str
    filename: str
    created_by: str  # command template; ``{dir}`` is the run directory
    description: str

    def __post_init__(self) -> None:
        if (
            not self.filename
            or Path(self.filename).is_absolute()
            or ".." in Path(self.filename).parts
        ):
            raise ValueError(
                f"ArtifactSpec.filename must be a relative name inside the run directory, "
                f"got {self.filename!r}"
            )


ARTIFACTS: Registry[ArtifactSpec] = Registry("run-directory artifact")
for _spec in (
    ArtifactSpec(
        "checkpoint",
        "checkpoint.pt",
        "lava-pinn train PROBLEM --out {dir}  (or `lava-pinn pipeline PROBLEM --out {dir}`)",
        "trained PINN checkpoint",
    ),
    ArtifactSpec("snn", "snn.pt", "lava-pinn convert {dir}", "converted float spiking network"),
    ArtifactSpec(
        "network", "network.h5", "lava-pinn export {dir}", "exported integer network (HDF5)"
    ),
    ArtifactSpec(
        "predictions",
        "predictions.npz",
        "lava-pinn run {dir} --backend BACKEND",
        "evaluation points and outputs (x, exact, ann, snn_<backend>)",
    ),
    ArtifactSpec(
        "activity",
        "activity_{backend}.json",
        "lava-pinn run {dir} --backend {backend}",
        "measured spike activity of one backend",
    ),
    ArtifactSpec("energy", "energy.json", "lava-pinn energy {dir}", "energy report"),
    ArtifactSpec("report", "report.md", "lava-pinn report {dir}", "summary report"),
):
    ARTIFACTS.register(_spec.key, _spec)


def describe_problem(name: str, params: dict | None = None) -> dict | None:
    """What the file-reading commands need of problem ``name`` (outputs, gauge fields, inputs,
    domain, description, parameters), or ``None`` if it is not registered or does not build
    with ``params``."""
    from lava_pinn.problems import PROBLEMS, get_problem

    try:
        PROBLEMS.canonical(name)
    except (KeyError, TypeError):
        return None
    try:
        prob = get_problem(name, **(params or {}))
        domain = prob.domain
        return _jsonable(
            {
                "name": prob.name,
                "description": prob.description,
                "inputs": list(prob.inputs),
                "outputs": list(prob.outputs),
                "gauge_fields": list(prob.gauge_fields),
                "domain": {"low": list(domain.low), "high": list(domain.high)},
                "params": dict(prob.param_values),
                "exact": bool(prob.has_exact),
            }
        )
    except Exception:  # a user problem that fails to build: the commands that need it say why
        return None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _jsonable(obj: Any) -> Any:
    """Options and infos as plain JSON values (tuples -> lists, paths and numpy -> str/num)."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return str(obj)


class RunDir:
    """A run directory at ``path``; ``create=True`` makes the folder and an empty manifest."""

    def __init__(self, path: str | os.PathLike, *, create: bool = False) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise RunDirError(f"run directory {self.path} exists and is not a folder")
        if not self.path.is_dir():
            if not create:
                raise RunDirError(
                    f"run directory {self.path} does not exist; create it with "
                    f"`lava-pinn pipeline PROBLEM --out {self.path}` or "
                    f"`lava-pinn train PROBLEM --out {self.path}`"
                )
            self.path.mkdir(parents=True)
        self._manifest = self._read_manifest()
        usermodules.check_recorded(self._manifest, str(self.path))

    # ------------------------------------------------------------------ manifest
    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST

    def _read_manifest(self) -> dict:
        p = self.manifest_path
        if not p.is_file():
            return {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "problem": None,
                "lava_pinn_version": __version__,
                "stages": {},
            }
        try:
            m = json.loads(p.read_text())
        except (OSError, ValueError) as err:
            raise RunDirError(
                f"{p}: unreadable run manifest ({err}); delete {self.path} and re-create it with "
                f"`lava-pinn pipeline PROBLEM --out {self.path}`"
            ) from None
        if not isinstance(m, dict) or m.get("format") != FORMAT:
            raise RunDirError(f"{p}: not a lava-pinn run manifest (no 'format': '{FORMAT}')")
        ver = m.get("format_version")
        if not isinstance(ver, int) or ver < FORMAT_VERSION:
            raise RunDirError(
                f"{self.path} was written by an older lava-pinn (run format {ver}, this one "
                f"reads {FORMAT_VERSION}); re-create it with "
                f"`lava-pinn pipeline {m.get('problem') or 'PROBLEM'} --out {self.path} --redo all`"
            )
        if ver > FORMAT_VERSION:
            raise RunDirError(
                f"{self.path} was written by a newer lava-pinn (run format {ver}, this one reads "
                f"{FORMAT_VERSION}); upgrade lava-pinn"
            )
        if not isinstance(m.get("stages"), dict):
            raise RunDirError(f"{p}: 'stages' must be an object")
        return m

    def _write_manifest(self) -> None:
        self._manifest["lava_pinn_version"] = __version__
        usermodules.update_record(self._manifest, str(self.path))
        text = json.dumps(self._manifest, indent=2, sort_keys=True) + "\n"
        atomic_write_bytes(self.manifest_path, text.encode())

    @property
    def manifest(self) -> dict:
        """A copy of ``run.json``'s content."""
        return json.loads(json.dumps(self._manifest))

    @property
    def problem(self) -> str | None:
        return self._manifest.get("problem")

    def set_problem(self, name: str, params: dict | None = None) -> None:
        """Record the problem; a run directory holds one problem only. What ``report`` and
        ``energy`` need of it (:func:`describe_problem`) is recorded beside the name while the
        problem is registered, so they work later without its code."""
        old = self._manifest.get("problem")
        if old is not None and old != name:
            raise RunDirError(
                f"{self.path} holds a run of {old!r}, not {name!r}; use another --out folder"
            )
        self._manifest["problem"] = name
        info = describe_problem(name, params)
        if info is not None:
            self._manifest["problem_info"] = info
        self._write_manifest()

    def problem_info(self) -> dict | None:
        """The run's problem as :func:`describe_problem` gives it: from the registry while the
        problem is registered (with the recorded parameters), else what ``run.json`` recorded;
        ``None`` for a run without a problem. :class:`RunDirError` when the problem is neither
        registered nor described in ``run.json``."""
        name = self._manifest.get("problem")
        if not name:
            return None
        recorded = self._manifest.get("problem_info")
        params = recorded.get("params") if isinstance(recorded, dict) else None
        info = describe_problem(name, params)
        if info is not None:
            return info
        if isinstance(recorded, dict) and recorded.get("outputs"):
            return json.loads(json.dumps(recorded))
        raise RunDirError(
            f"{self.path}: problem {name!r} is not registered here and run.json does not "
            f"describe it{usermodules.missing_note(self._manifest)}"
        )

    # ------------------------------------------------------------------ stages
    def stage(self, name: str) -> dict | None:
        """The manifest entry of stage ``name`` (``options``, ``finished``, ``info``) or None."""
        entry = self._manifest["stages"].get(name)
        return json.loads(json.dumps(entry)) if entry is not None else None

    def is_done(self, name: str, options: dict | None = None, *artifacts: Path) -> bool:
        """Stage ``name`` finished with the same ``options`` and its ``artifacts`` exist."""
        entry = self._manifest["stages"].get(name)
        if entry is None:
            return False
        if options is not None and entry.get("options") != _jsonable(options):
            return False
        return all(Path(a).is_file() for a in artifacts)

    def record(self, name: str, options: dict | None = None, info: dict | None = None) -> None:
        """Mark stage ``name`` finished (call after its artifacts are written)."""
        self._manifest["stages"][name] = {
            "options": _jsonable(options or {}),
            "info": _jsonable(info or {}),
            "finished": _now(),
        }
        self._write_manifest()

    def forget(self, *names: str) -> None:
        """Drop stages from the manifest (their files stay until overwritten)."""
        for n in names:
            self._manifest["stages"].pop(n, None)
        self._write_manifest()

    # ------------------------------------------------------------------ artifacts
    def file(self, key: str, **fields: str) -> Path:
        """Path of artifact ``key`` (:data:`ARTIFACTS`), e.g. ``file("activity", backend=b)``."""
        spec = ARTIFACTS.get(key)
        return self.path / spec.filename.format(**fields)

    def require(self, key: str, **fields: str) -> Path:
        """Path of artifact ``key``; :class:`RunDirError` naming the command if it is missing."""
        p = self.file(key, **fields)
        if not p.is_file():
            spec = ARTIFACTS.get(key)
            cmd = spec.created_by.format(dir=self.path, **{k: v for k, v in fields.items()})
            raise RunDirError(f"{self.path}: {p.name} ({spec.description}) is missing; run `{cmd}`")
        return p

    @property
    def figures(self) -> Path:
        """``DIR/figures`` (created on first use)."""
        d = self.path / "figures"
        d.mkdir(exist_ok=True)
        return d

    # ------------------------------------------------------------------ predictions.npz
    def load_predictions(self) -> dict[str, np.ndarray]:
        """The arrays of ``predictions.npz`` (``RunDirError`` if absent)."""
        p = self.require("predictions")
        try:
            with np.load(p, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        except (OSError, ValueError) as err:
            raise RunDirError(
                f"{p}: unreadable ({err}); re-create it with `lava-pinn run {self.path}`"
            ) from None

    def save_predictions(self, **arrays: np.ndarray) -> Path:
        """Merge ``arrays`` into ``predictions.npz`` atomically (new ``x`` drops the old arrays)."""
        p = self.file("predictions")
        old: dict[str, np.ndarray] = {}
        if p.is_file():
            old = self.load_predictions()
            if "x" in old and "x" in arrays and not np.array_equal(old["x"], arrays["x"]):
                old = {}  # new evaluation points: the old outputs no longer belong to them
        old.update({k: np.asarray(v) for k, v in arrays.items()})
        buf = io.BytesIO()
        np.savez(buf, **old)
        return atomic_write_bytes(p, buf.getvalue())
