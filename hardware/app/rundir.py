"""The run directory: one folder per study, shared by every ``lava-pinn`` stage.

A run directory holds the artifacts of the stages ``train -> convert -> export -> run -> energy
-> report`` under fixed names (:data:`ARTIFACTS`) and a manifest ``run.json`` that records, per
stage, the options it ran with, who ran it (``by``: ``pipeline`` or the command line), the
sha256 of the files (or ``FILE#ARRAY`` of an ``.npz``) it read (``inputs``) and wrote
(``outputs``), and when it finished. A stage is *done* when its manifest entry exists with the
same options, its artifact is on disk and none of its recorded files changed (:meth:`RunDir.
stale`); the pipeline skips done stages unless asked to redo them
(:mod:`hardware.app.provenance`). Every file is written atomically (a stage's several files
all or none), so an interrupted run or a full disk leaves each finished artifact intact and
never a half-written one; one process writes at a time (:meth:`RunDir.writing`,
:mod:`hardware.app.rundir_lock`). Times live in ``run.json`` only, so the same command gives
byte-identical artifacts.

``run.json``::

    {"format": "lava-pinn-run", "format_version": 1, "problem": "navier-stokes-tg",
     "lava_pinn_version": "0.1.0",
     "stages": {"convert": {"options": {...}, "finished": "2026-11-26T16:00:00+00:00",
                            "by": "pipeline", "inputs": {"checkpoint.pt": "<sha256>"},
                            "outputs": {"snn.pt": "<sha256>"}, "info": {...}}},
     "problem_info": {"outputs": ["u", "v", "p"], "gauge_fields": ["p"], "inputs": [...],
                      "domain": {"low": [...], "high": [...]}, "description": "...", ...},
     "problem_modules": [{"path": "/abs/my_problems.py", "sha256": "..."}]}

``problem_info`` is what ``report`` and ``energy`` need of the problem (recorded by the stage
that first knows the problem), so they work without its code; ``problem_modules`` lists the
user files given with ``--problem-module`` (:mod:`hardware.app.usermodules`); opening the run
directory checks them (changed, vanished) but never imports them.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from hardware.app import rundir_lock, usermodules
from lava_pinn._version import __version__
from lava_pinn.checkpoint import _file_mode as file_mode
from lava_pinn.checkpoint import atomic_write_bytes
from lava_pinn.registry import Registry

FORMAT = "lava-pinn-run"
FORMAT_VERSION = 1
MANIFEST = "run.json"
PIPELINE = "pipeline"  # ``by`` of the stages the pipeline ran; anything else was made by hand
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the date of every member of an .npz written here
# stage options renamed since a run directory may have recorded them: {stage: {old: new}}
LEGACY_OPTIONS: dict[str, dict[str, str]] = {"export": {"calibration_points": "scoring_points"}}


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


def array_key(backend: str) -> str:
    """``predictions.npz`` key of a backend's outputs: ``snn_<backend>`` with ``-`` -> ``_``."""
    return "snn_" + backend.replace("-", "_")


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

    def __init__(
        self, path: str | os.PathLike, *, create: bool = False, by: str | None = None
    ) -> None:
        self.path = Path(path)
        self.by = by or rundir_lock.command_line()  # who writes: recorded with every stage
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

    @contextlib.contextmanager
    def writing(self, doing: str, wait_s: float | None = None) -> Iterator[RunDir]:
        """Hold the directory's write lock (:mod:`hardware.app.rundir_lock`) while the block
        runs; :class:`~hardware.app.rundir_lock.RunDirBusy` when another process writes it.
        Entering re-reads ``run.json``, so what an earlier writer recorded is kept."""
        with rundir_lock.hold(self.path, doing, wait_s):
            self._manifest = self._read_manifest()
            yield self

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
        info = describe_problem(name, params)
        with self.writing("problem"):
            self._manifest["problem"] = name
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
        """Stage ``name`` finished with the same ``options``, its ``artifacts`` exist and none
        of the inputs it recorded changed since (:meth:`stale`)."""
        entry = self._manifest["stages"].get(name)
        if entry is None:
            return False
        recorded = entry.get("options")
        if isinstance(recorded, dict) and name in LEGACY_OPTIONS:  # written before a rename
            recorded = {LEGACY_OPTIONS[name].get(k, k): v for k, v in recorded.items()}
        if options is not None and recorded != _jsonable(options):
            return False
        return all(Path(a).is_file() for a in artifacts) and not self.stale(name)

    def record(
        self,
        name: str,
        options: dict | None = None,
        info: dict | None = None,
        *,
        inputs: Iterable[str] = (),
        outputs: Iterable[str] = (),
    ) -> None:
        """Mark stage ``name`` finished (call after its artifacts are written), with who ran it
        (``by``), the digests (:meth:`digest`) of the ``inputs`` it read and of the
        ``outputs`` it wrote: file names relative to the directory, or ``FILE#ARRAY`` for one
        array of an ``.npz``."""
        with self.writing(f"stage {name}"):
            self._manifest["stages"][name] = {
                "options": _jsonable(options or {}),
                "info": _jsonable(info or {}),
                "by": self.by,
                "inputs": {ref: self.digest(ref) for ref in inputs},
                "outputs": {ref: self.digest(ref) for ref in outputs},
                "finished": _now(),
            }
            self._write_manifest()

    def forget(self, *names: str) -> None:
        """Drop stages from the manifest (their files stay until overwritten)."""
        with self.writing("forget"):
            for n in names:
                self._manifest["stages"].pop(n, None)
            self._write_manifest()

    # ------------------------------------------------------------------ provenance
    def digest(self, ref: str) -> str | None:
        """sha256 of file ``ref`` of the directory, or of one array (``"predictions.npz#ann"``:
        dtype, shape and bytes); ``None`` where it is missing."""
        name, _, array = ref.partition("#")
        p = self.path / name
        if not p.is_file():
            return None
        if not array:
            return file_digest(p)
        try:
            with np.load(p, allow_pickle=False) as z:
                if array not in z.files:
                    return None
                return array_digest(z[array])
        except (OSError, ValueError):
            return None

    def stale(self, name: str) -> list[str]:
        """The recorded inputs of stage ``name`` that changed (or vanished) since it ran."""
        entry = self._manifest["stages"].get(name) or {}
        return [ref for ref, d in (entry.get("inputs") or {}).items() if self.digest(ref) != d]

    def made_by_hand(self, name: str) -> str | None:
        """The command that made stage ``name`` where it was not the pipeline, else ``None``."""
        entry = self._manifest["stages"].get(name) or {}
        by = entry.get("by", PIPELINE)
        return None if by == PIPELINE else str(by)

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
        with self.writing("predictions"):
            return self._save_predictions(arrays)

    def _save_predictions(self, arrays: dict[str, np.ndarray]) -> Path:
        return atomic_write_bytes(self.file("predictions"), self.predictions_bytes(arrays))

    def predictions_bytes(self, arrays: dict[str, np.ndarray]) -> bytes:
        """``predictions.npz`` with ``arrays`` merged in (what :meth:`save_predictions`
        writes): a new ``x`` drops the old arrays."""
        p = self.file("predictions")
        old: dict[str, np.ndarray] = {}
        if p.is_file():
            old = self.load_predictions()
            if "x" in old and "x" in arrays and not np.array_equal(old["x"], arrays["x"]):
                old = {}  # new evaluation points: the old outputs no longer belong to them
        old.update({k: np.asarray(v) for k, v in arrays.items()})
        return npz_bytes(old)

    def write_files(self, files: dict[Path, bytes]) -> None:
        """Write several files of one stage all or none: every one to a temporary file first
        (a full disk or a write error then removes them all and leaves every previous file as
        it was), then each renamed over its old one."""
        with self.writing("files"):
            write_all_or_none(files)

    def drop_predictions(self, *keys: str) -> None:
        """Remove arrays from ``predictions.npz`` (those of a backend whose results went
        stale)."""
        p = self.file("predictions")
        if not p.is_file():
            return
        with self.writing("predictions"):
            arrays = self.load_predictions()
            if any(k in arrays for k in keys):
                kept = {k: v for k, v in arrays.items() if k not in keys}
                atomic_write_bytes(p, npz_bytes(kept))


def write_all_or_none(files: dict[Path, bytes]) -> None:
    """Write ``{path: bytes}`` so that a failure leaves every old file as it was and no
    temporary file behind: all written and synced to temporaries, then renamed in order."""
    tmps: list[tuple[str, Path]] = []
    path = None
    try:
        for path, data in files.items():
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            tmps.append((tmp, path))
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, file_mode())
    except BaseException as err:
        for tmp, _ in tmps:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError) and err.filename is None and path is not None:
            err.filename = str(path)
        raise
    for tmp, path in tmps:
        os.replace(tmp, path)


def file_digest(path: str | os.PathLike) -> str:
    """sha256 (hex) of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def array_digest(a: np.ndarray) -> str:
    """sha256 (hex) of an array's dtype, shape and C-order bytes."""
    a = np.ascontiguousarray(a)
    h = hashlib.sha256(f"{a.dtype.str}{a.shape}".encode())
    h.update(a.tobytes())
    return h.hexdigest()


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """``arrays`` as ``.npz`` bytes that depend on the arrays alone: members in sorted order,
    each dated :data:`ZIP_TIME` (``np.savez`` dates them now, so two equal runs differ)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for k in sorted(arrays):
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asanyarray(arrays[k]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{k}.npy", date_time=ZIP_TIME)
            info.external_attr = 0o644 << 16
            zf.writestr(info, member.getvalue())
    return buf.getvalue()
