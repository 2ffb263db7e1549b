"""The stages of a run directory: the checkpoint, ``convert``, ``export``, ``run`` and ``energy``.

Each stage reads its inputs from a :class:`~hardware.app.rundir.RunDir`, writes its artifacts
under the fixed names atomically, and records its options in ``run.json`` under the stage name
(``train``, ``convert``, ``export``, ``run``, ``energy``). The options of a stage are one frozen
dataclass declared with :func:`lava_pinn.options.option` (flags, TOML keys, defaults and help
from one definition). The ``lava-pinn`` commands and ``lava-pinn pipeline`` call these functions,
so a run directory made by one can be continued by the other.

    lava-pinn pipeline navier-stokes-tg --out runs/ns     # all stages
    lava-pinn convert runs/ns --T 32                       # just this one, again
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from hardware.app import usermodules
from hardware.app.energy_common import (  # noqa: F401  re-exported
    ENERGY_BACKENDS,
    ENERGY_PROFILES,
    _profile,
    prediction_errors,
)
from hardware.app.provenance import earlier_backends, writes
from hardware.app.rundir import RunDir, RunDirError, array_key
from lava_pinn.conversion.options import ConvertOptions
from lava_pinn.metrics import field_errors
from lava_pinn.options import option, positive_float, positive_int
from lava_pinn.registry import UnknownNameError
from lava_pinn.validation import check_count, check_real

log = logging.getLogger(__name__)

NETX_FILE = "network.net"
# Lava backends' defaults for `lava-pinn run` and the pipeline: grid points evaluated (as the
# demo and the tutorial run) and points per graph (as benchmarks/energy.py runs).
LAVA_POINTS = 512
LAVA_BATCH = 16
# Whose measured activity the energy stage prices when none is named: the first present.


def is_lava(backend: str) -> bool:
    """A backend that runs a Lava graph (a seeded subset of the grid, in batches)."""
    return backend.startswith("lava") or backend == "loihi2"


@dataclass(frozen=True)
class CheckpointOptions:
    """How the ``train`` stage gets ``checkpoint.pt``: copy the committed pretrained checkpoint
    of the problem (``train=False``) or train one with the problem's defaults (``train=True``,
    ``seed``)."""

    train: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.train, bool):
            raise TypeError(f"CheckpointOptions.train must be True or False, got {self.train!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"CheckpointOptions.seed must be an integer, got {self.seed!r}")

    def to_dict(self) -> dict:
        return {"source": "trained" if self.train else "pretrained", "seed": self.seed}


@writes("train")
def checkpoint_stage(rd: RunDir, problem: str, options: CheckpointOptions, *, progress=True):
    """Write ``DIR/checkpoint.pt`` for ``problem``: the pretrained one, or a freshly trained one.

    Returns the loaded :class:`~lava_pinn.checkpoint.Checkpoint`. Records stage ``train``.
    """
    from lava_pinn.checkpoint import (
        atomic_write_bytes,
        load_checkpoint,
        pretrained_path,
    )
    from lava_pinn.problems import get_problem

    prob = get_problem(problem)  # KeyError listing the zoo for an unknown name
    rd.set_problem(prob.name)
    dest = rd.file("checkpoint")
    t0 = time.perf_counter()
    if options.train:
        from lava_pinn.training import TrainConfig, train

        config = TrainConfig.for_problem(prob, seed=options.seed)
        result = train(prob, prob.default_model(), config, progress=progress)
        result.save(dest)
    else:
        src = pretrained_path(prob.name)
        if not src.is_file():
            from lava_pinn.checkpoint import load_pretrained

            load_pretrained(prob.name)  # raises CheckpointError naming the available ones
        atomic_write_bytes(dest, src.read_bytes())
    ck = load_checkpoint(dest)
    info = {
        "model": ck.config.describe(),
        "rel_l2": ck.metrics.get("rel_l2", {}),
        "seconds": time.perf_counter() - t0,
    }
    rd.record("train", options.to_dict(), info, outputs=[dest.name])
    return ck


def calibration_points(problem: str, params: dict, n: int, seed: int, boundary: float = 0.0):
    """``n`` seeded points (float64) of the problem's domain, a share ``boundary`` of them on
    its boundary (:func:`~lava_pinn.conversion.convert.default_calibration_points`)."""
    from lava_pinn.conversion.convert import default_calibration_points

    return default_calibration_points(problem, dict(params), n, seed, boundary)


@writes("convert")
def convert_stage(rd: RunDir, options: ConvertOptions):
    """Convert ``DIR/checkpoint.pt`` into ``DIR/snn.pt``; records stage ``convert``.

    Returns the :class:`~lava_pinn.conversion.network.SpikingNetwork`.
    """
    import lava_pinn
    from lava_pinn.checkpoint import load_checkpoint

    ck_path = rd.require("checkpoint")
    ck = load_checkpoint(ck_path)
    if rd.problem in (None, ck.problem):
        rd.set_problem(ck.problem, ck.problem_params)  # also records what report needs of it
    else:
        raise RunDirError(
            f"{ck_path} is a {ck.problem!r} checkpoint but {rd.path} holds a run of "
            f"{rd.problem!r}; use another run directory"
        )
    if ck.config.kind != "mlp":
        raise RunDirError(
            f"{ck_path} holds a {ck.config.kind.upper()} ({ck.config.describe()}); the run "
            f"directory stages export MLPs only; convert it in Python with lava_pinn.convert"
        )
    x_cal = calibration_points(
        ck.problem,
        ck.problem_params,
        options.calibration_points,
        options.seed,
        options.calibration_boundary,
    )
    t0 = time.perf_counter()
    snn = lava_pinn.convert(ck, x_cal, **options.conversion_kwargs())
    seconds = time.perf_counter() - t0
    snn.metadata.pop("convert_seconds", None)  # in run.json: snn.pt holds results, not timings
    path = snn.save(rd.file("snn"))
    info = {
        "network": repr(snn),
        "neurons": snn.neurons,
        "synapses": snn.synapses,
        "calibration_error_final": snn.metadata.get("calibration_error_final"),
        "seconds": seconds,
        "checkpoint_sha256": ck.sha256,
    }
    rd.record("convert", options.to_dict(), info, inputs=[ck_path.name], outputs=[path.name])
    log.info("converted %s in %.1f s -> %s", ck_path, seconds, path)
    return snn


@dataclass(frozen=True)
class ExportOptions:
    """Options of the ``export`` stage.

    ``scoring_points`` seeded points of the problem's domain (``seed``) score the scale
    search of :func:`exporters.quantize.quantize` (``search=False`` keeps the first candidate);
    ``netx`` also writes ``DIR/network.net`` (hardware-native ``lif-hard`` networks only);
    ``weight_groups=2`` gives every Dense synapse a fine second group (about 15-bit weights at
    twice the synapses; custom IF neurons only, not netx).
    """

    scoring_points: int = option(
        256,
        "points scoring the scale search",  # calibration_points: convert's conversion points
        type=positive_int,
    )
    seed: int = option(1, "seed of those points", type=int)
    search: bool = option(True, "keep the first scale candidate", flag="--no-search")
    netx: bool = option(False, "also write DIR/network.net (lava-dl)")
    weight_groups: int = option(
        1,
        "2: a fine second Dense group per synapse, ~15-bit weights at twice the synapses "
        "(custom IF neurons; not with --netx)",
        type=int,
    )

    def __post_init__(self) -> None:
        n = self.scoring_points
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"ExportOptions.scoring_points must be an integer >= 1, got {n!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"ExportOptions.seed must be an integer, got {self.seed!r}")
        for f in ("search", "netx"):
            if not isinstance(getattr(self, f), bool):
                raise TypeError(
                    f"ExportOptions.{f} must be True or False, got {getattr(self, f)!r}"
                )
        from exporters.intnet import check_weight_groups

        check_weight_groups(self.weight_groups, "ExportOptions.weight_groups")
        if self.netx and self.weight_groups == 2:
            raise ValueError(
                "ExportOptions: netx files hold one weight group per layer; use weight_groups=1 "
                "with netx=True"
            )

    def to_dict(self) -> dict:
        return asdict(self)


@writes("export")
def export_stage(rd, options: ExportOptions) -> Path:
    """``DIR/snn.pt`` -> ``DIR/network.h5`` (and ``network.net`` with ``netx``); records stage
    ``export`` with the quantization summary. Returns the artifact path."""
    import exporters
    from lava_pinn.conversion.network import SpikingNetwork

    snn_path = rd.require("snn")
    snn = SpikingNetwork.load(snn_path)
    problem = snn.metadata.get("problem") or rd.problem
    x = None
    if problem:
        x = calibration_points(
            problem,
            snn.metadata.get("problem_params", {}),
            options.scoring_points,
            options.seed,
        )
    ck = rd.file("checkpoint")
    t0 = time.perf_counter()
    path = exporters.export(
        snn,
        rd.file("network"),
        calibration_inputs=x,
        source=ck if ck.is_file() else None,
        search=options.search,
        n_points=options.scoring_points,
        seed=options.seed,
        weight_groups=options.weight_groups,
    )
    art = exporters.load_artifact(path)
    files = [path.name]
    if options.netx:
        from exporters.netx import export_netx

        files.append(export_netx(art.network, rd.path / NETX_FILE).name)
    rep = art.report
    info = {
        "seconds": time.perf_counter() - t0,
        "files": files,
        "twin_vs_float": list(rep.twin_vs_float) if rep else None,
        "saturated": rep.saturated if rep else None,
        "rounded_to_zero": rep.rounded_to_zero if rep else None,
        "sizes": list(art.network.sizes),
        "T": art.network.T,
    }
    rd.record("export", options.to_dict(), info, inputs=[snn_path.name], outputs=files)
    return path


# ------------------------------------------------------------------------------------ run
def _names(value: object, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError(f"{what} must be a non-empty list of names, got {value!r}")
    if not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{what} must be a non-empty list of names, got {value!r}")
    return tuple(dict.fromkeys(value))


@dataclass(frozen=True)
class RunOptions:
    """Options of the ``run`` stage: where the exported network runs, on which grid points.

    Every backend runs on the problem's evaluation grid: ``points`` seeded grid points when
    given, else ``lava_points`` on Lava backends (graphs of ``batch`` points side by side,
    stopped after ``timeout_s`` seconds) and ``grid_points`` on torch backends (``None``: the
    whole grid). The subset of a backend depends only on its size and ``seed``, so backends
    given the same number of points evaluate the same points.
    """

    backends: tuple[str, ...] = option(
        ("lava-cpu",),
        "backend to run on (repeatable); see `hardware.available()`",
        flag="--backend",
        repeat=True,
        metavar="B",
    )
    points: int | None = option(
        None,
        f"evaluate a seeded subset of N grid points on every backend (default: all for torch "
        f"backends, {LAVA_POINTS} for Lava backends)",
        type=positive_int,
    )
    lava_points: int = option(LAVA_POINTS, "grid points of Lava backends", cli=False)
    grid_points: int | None = option(
        None, "grid points of torch backends (None: the whole grid)", cli=False
    )
    seed: int = option(0, "seed of the point subset", type=int)
    batch: int = option(
        LAVA_BATCH, "Lava: points per graph run", flag="--lava-batch", type=positive_int
    )
    timeout_s: float = option(600.0, "Lava watchdog (s)", type=positive_float)

    def __post_init__(self) -> None:
        from hardware.backends import get_backend

        names = _names(self.backends, "RunOptions.backends")
        object.__setattr__(
            self, "backends", tuple(dict.fromkeys(get_backend(b).name for b in names))
        )
        for name in ("points", "grid_points"):
            if getattr(self, name) is not None:
                check_count(getattr(self, name), f"RunOptions.{name}")
        check_count(self.lava_points, "RunOptions.lava_points")
        check_count(self.batch, "RunOptions.batch")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"RunOptions.seed must be an integer, got {self.seed!r}")
        check_real(self.timeout_s, "RunOptions.timeout_s", low=0.0, low_open=True)

    def points_for(self, backend: str) -> int | None:
        """Grid points ``backend`` evaluates (``None``: all of them)."""
        if self.points is not None:
            return self.points
        return self.lava_points if is_lava(backend) else self.grid_points

    def to_dict(self) -> dict:
        """What ``run.json`` records (the watchdog ``timeout_s`` changes no result)."""
        d = asdict(self)
        d["backends"] = list(self.backends)
        del d["timeout_s"]
        return d


def _subset(n: int, k: int | None, seed: int) -> np.ndarray:
    if k is None or k >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=k, replace=False))


def _problem_of(rd: RunDir, net) -> Any:
    from lava_pinn.problems import get_problem

    name = rd.problem or net.metadata.get("problem")
    if not name:
        raise RunDirError(
            f"{rd.path}: no problem recorded in run.json or in the network's metadata; create "
            f"the run with `lava-pinn train PROBLEM --out {rd.path}`"
        )
    try:
        return get_problem(name, **(net.metadata.get("problem_params") or {}))
    except UnknownNameError as err:
        raise RunDirError(f"{rd.path}: {err}{usermodules.missing_note(rd.manifest)}") from None


def _ann_outputs(rd: RunDir, problem, x: np.ndarray) -> np.ndarray | None:
    import torch

    from lava_pinn.checkpoint import load_checkpoint
    from lava_pinn.training import predict

    ck_path = rd.file("checkpoint")
    if not ck_path.is_file():
        warnings.warn(f"{ck_path} is missing: predictions.npz gets no 'ann' array", stacklevel=3)
        return None
    ck = load_checkpoint(ck_path)
    return predict(ck.model, problem, torch.from_numpy(x), ck.hard_bc).numpy()


def _snn_outputs(problem, net, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    import torch

    if net.metadata.get("hard_bc"):
        y = problem.apply_hard_bc(torch.from_numpy(x), torch.from_numpy(y)).numpy()
    return y


@writes("run")
def run_stage(
    rd: RunDir,
    options: RunOptions,
    *,
    say: Callable[[str], None] | None = None,
    on_backend: Callable[[str], None] | None = None,
) -> dict:
    """Run the network of ``rd`` on every backend of ``options``; records stage ``run``.

    Integer backends read ``DIR/network.h5``, float ones ``DIR/snn.pt`` (every artifact and
    backend is checked before anything runs: :class:`~hardware.app.rundir.RunDirError` names
    the command that makes a missing file, :class:`~hardware.backends.BackendUnavailable` says
    why a backend cannot run). Writes ``DIR/predictions.npz`` (``x``, ``exact`` or
    ``reference``, ``ann``, ``snn_<backend>``: NaN off a backend's subset) and
    ``DIR/activity_<backend>.json``. ``say`` receives one line per backend (and a header),
    ``on_backend(name)`` is called after each backend. Results of backends an earlier run
    measured are kept while they came from the same network on the same points, else removed
    (:func:`~hardware.app.provenance.earlier_backends`). Returns the recorded info.
    """
    import hardware
    from hardware.backends import BackendUnavailable, get_backend
    from hardware.costing import activity_bytes, record_of

    say = say or (lambda line: None)
    nets = {}

    def network_of(b: str) -> str:
        return rd.file("snn" if get_backend(b).needs == "float" else "network").name

    for b in options.backends:  # check every artifact and backend before running anything
        needs = get_backend(b).needs
        nets[b] = hardware.load_network(rd.require("snn" if needs == "float" else "network"), b)
        ok, reason = get_backend(b).available()
        if not ok:
            raise BackendUnavailable(f"backend {b!r} is unavailable here: {reason}")
    problem = _problem_of(rd, next(iter(nets.values())))
    ref = problem.reference()
    x = ref.points.numpy()
    arrays: dict[str, np.ndarray] = {"x": x}
    exact = ref.values.numpy()
    arrays["exact" if ref.source == "exact" else "reference"] = exact
    ann = _ann_outputs(rd, problem, x)
    if ann is not None:
        arrays["ann"] = ann
    info: dict[str, Any] = {"problem": problem.name, "points_total": int(x.shape[0])}
    files: dict[Path, bytes] = {}
    say(f"{problem.name}: evaluation grid of {x.shape[0]} points")
    for b in options.backends:
        idx = _subset(x.shape[0], options.points_for(b), options.seed)
        kw = {"batch": options.batch, "timeout_s": options.timeout_s} if is_lava(b) else {}
        res = hardware.run(nets[b], x[idx], backend=b, **kw)
        y = np.full((x.shape[0], res.y.shape[1]), np.nan)
        y[idx] = _snn_outputs(problem, nets[b], x[idx], res.y)
        arrays[array_key(b)] = y
        rec = record_of(res)  # the file: results only; wall time and paths go to run.json
        run = {k: v for k, v in rec.run.items() if k != "wall_s"}
        run["source"] = network_of(b)
        run["options"] = {k: v for k, v in run.get("options", {}).items() if k != "timeout_s"}
        run["made_from"] = {
            "network": network_of(b),
            "network_sha256": rd.digest(network_of(b)),
            "points": int(idx.size),
            "seed": options.seed,
        }
        files[rd.file("activity", backend=b)] = activity_bytes(replace(rec, run=run))
        errs = field_errors(y, exact, problem.outputs, problem.gauge_fields)
        errs_ann = field_errors(y, ann, problem.outputs) if ann is not None else {}
        info[b] = {
            **res.summary(),
            "network": network_of(b),
            "network_sha256": rd.digest(network_of(b)),
            "points": int(idx.size),
            "seed": options.seed,
            "rel_l2": errs,
            "rel_l2_vs_ann": errs_ann,
            "spikes_per_sample": float(res.layer_spikes.sum()) / res.n_points,
        }
        if res.resources is not None:  # the findings the one-line warning summarised
            info[b]["resources"] = {
                k: res.resources.to_dict()[k] for k in ("fits", "violations", "requirements")
            }
        fmt = ", ".join(f"{k} {100 * v:.3g}%" for k, v in errs.items())
        say(
            f"{b:15s} {res.n_points:6d} points  {res.wall_s:8.2f} s  "
            f"{info[b]['spikes_per_sample']:.4g} spikes/sample  rel. L2 vs {ref.source}: {fmt}"
        )
        if on_backend is not None:
            on_backend(b)
    files[rd.file("predictions")] = rd.predictions_bytes(arrays)
    rd.write_files(files)  # all of them or, on a write error, none
    kept, kept_refs = earlier_backends(rd, options.backends, network_of, say)
    info.update(kept)
    inputs = sorted({network_of(b) for b in options.backends})
    if ann is not None:
        inputs.append(rd.file("checkpoint").name)
    outputs = [f"{rd.file('predictions').name}#{k}" for k in arrays if k != "x"]
    outputs += [rd.file("activity", backend=b).name for b in options.backends] + kept_refs
    rd.record("run", options.to_dict(), info, inputs=inputs, outputs=outputs)
    return info


# ------------------------------------------------------------------------------------ energy
@dataclass(frozen=True)
class EnergyOptions:
    """Options of the ``energy`` stage: the measured activity of ``backend`` (``None``: the
    first present of :data:`ENERGY_BACKENDS`) priced under each of ``profiles`` (registered
    names or TOML profile files), the ANN under ``ann_profile``, ``hops`` router hops per spike.
    """

    profiles: tuple[str, ...] = option(
        ENERGY_PROFILES,
        "energy profile name or TOML file (repeatable)",
        flag="--profile",
        repeat=True,
        metavar="P",
    )
    backend: str | None = option(
        None,
        f"whose measured activity to price (default: first of {', '.join(ENERGY_BACKENDS)})",
    )
    ann_profile: str = option("cmos-45nm", "profile pricing the ANN")
    hops: float = option(1.0, "router hops per spike", type=float)

    def __post_init__(self) -> None:
        from hardware.backends import get_backend

        object.__setattr__(self, "profiles", _names(self.profiles, "EnergyOptions.profiles"))
        if self.backend is not None:
            object.__setattr__(self, "backend", get_backend(self.backend).name)
        if not isinstance(self.ann_profile, str) or not self.ann_profile:
            raise ValueError(
                f"EnergyOptions.ann_profile must be a profile name, got {self.ann_profile!r}"
            )
        check_real(self.hops, "EnergyOptions.hops", low=0.0)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["profiles"] = list(self.profiles)
        return d


def _pick_backend(rd: RunDir, wanted: str | None) -> str:
    if wanted:
        rd.require("activity", backend=wanted)
        return wanted
    for b in ENERGY_BACKENDS:
        if b in _measured(rd) and rd.file("activity", backend=b).is_file():
            return b
    rd.require("activity", backend="lava-cpu")  # raises, naming `lava-pinn run`
    raise AssertionError("unreachable")  # pragma: no cover


@writes("energy")
def energy_stage(rd: RunDir, options: EnergyOptions):
    """Price the measured activity of ``rd``; records stage ``energy``.

    Writes ``DIR/energy.json``, ``energy_layers.csv``, ``energy_totals.csv``, ``energy.md``,
    ``energy.tex`` (one paper column), ``energy_appendix.tex`` (every column) and
    ``DIR/figures/energy_{firing_rates,pareto}.png``: the report of the
    chosen backend, every other backend with activity beside it in the Pareto figure. Returns
    the :class:`~hardware.costing.EnergyReport` of that backend (``run.json`` holds the files,
    the totals per profile, the backend and the profile names).
    """
    from hardware import reports
    from hardware.app.figures_draw import energy_figures
    from hardware.costing import energy_report, load_activity

    profiles = [_profile(p) for p in options.profiles]
    main_backend = _pick_backend(rd, options.backend)
    others = [
        b
        for b in ENERGY_BACKENDS
        if b != main_backend and b in _measured(rd) and rd.file("activity", backend=b).is_file()
    ]
    reps = {}
    for b in [main_backend, *others]:
        rec = load_activity(rd.file("activity", backend=b))
        reps[b] = energy_report(
            rec,
            profiles=profiles,
            errors=prediction_errors(rd, b),
            label=f"{rd.problem or 'network'}, {b}",
            ann_profile=options.ann_profile,
            hops_per_spike=options.hops,
        )
    rep = reps[main_backend]
    paths = reports.write_all(rep, rd.path, stem="energy")
    act = load_activity(rd.file("activity", backend=main_backend)).activity
    paths.update(energy_figures(rd, reps, act, main_backend, profiles[0].name))
    info = {
        "files": [str(p.name) for p in paths.values()],
        "totals": _totals(rep),
        "backend": main_backend,
        "profiles": [p.name for p in profiles],
    }
    inputs = [rd.file("activity", backend=b).name for b in reps]
    if rd.file("predictions").is_file():
        pred = rd.load_predictions()
        keys = [array_key(b) for b in reps] + ["exact", "reference"]
        inputs += [f"{rd.file('predictions').name}#{k}" for k in keys if k in pred]
    inputs += [str(Path(p).resolve()) for p in options.profiles if p.endswith(".toml")]
    _add_made_from(rd, paths["json"], inputs, options)
    outputs = [str(p.relative_to(rd.path)) for p in paths.values()]
    rd.record("energy", options.to_dict(), info, inputs=inputs, outputs=outputs)
    return rep


def _add_made_from(rd: RunDir, path: Path, inputs: list[str], options: EnergyOptions) -> None:
    """``made_from`` in ``energy.json``: the digests of the activity and predictions it priced
    (run-directory files by name), the network they were measured on and the options."""
    import json

    from lava_pinn.checkpoint import atomic_write_bytes

    data = json.loads(path.read_text())
    data["made_from"] = {
        "inputs": {(Path(r).name if Path(r).is_absolute() else r): rd.digest(r) for r in inputs},
        "network_sha256": rd.digest(rd.file("network").name),
        "options": options.to_dict(),
    }
    atomic_write_bytes(path, (json.dumps(data, indent=2) + "\n").encode())


def _measured(rd: RunDir) -> set[str]:
    """The backends whose results the ``run`` record holds (all with activity where none)."""
    run = rd.stage("run")
    if run is None:
        return set(ENERGY_BACKENDS)
    return {b for b, bi in run.get("info", {}).items() if isinstance(bi, dict) and "backend" in bi}


def _totals(rep) -> dict:
    return {
        e.profile: {
            "snn_pj": e.snn_total_pj,
            "ann_pj": e.ann_total_pj,
            "ann_int8_pj": e.ann_int8_total_pj,
            "verdict": e.verdict,
            "kind": e.kind,
        }
        for e in rep.estimates
    }


def stage_artifacts(rd: RunDir, stage: str) -> list[Path]:
    """The files whose presence, with a matching record, makes a torch stage done."""
    return {
        "train": [rd.file("checkpoint")],
        "convert": [rd.file("snn")],
        "export": [rd.file("network")],
    }[stage]


__all__ = [
    "ENERGY_BACKENDS",
    "ENERGY_PROFILES",
    "LAVA_BATCH",
    "LAVA_POINTS",
    "NETX_FILE",
    "CheckpointOptions",
    "ConvertOptions",
    "EnergyOptions",
    "ExportOptions",
    "RunOptions",
    "array_key",
    "calibration_points",
    "checkpoint_stage",
    "convert_stage",
    "energy_stage",
    "export_stage",
    "is_lava",
    "prediction_errors",
    "run_stage",
    "stage_artifacts",
]
