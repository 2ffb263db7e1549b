"""``lava-pinn pipeline PROBLEM --out DIR``: the whole study in one run directory.

Stages (:data:`STAGES`, in this order), each writing fixed files into ``DIR`` (see
:mod:`hardware.app.rundir`) and recording its options in ``DIR/run.json``:

=========  =====================================================  ==============================
stage      what it does                                           writes
=========  =====================================================  ==============================
train      copy the pretrained checkpoint (``--train``: train)    ``checkpoint.pt``
convert    convert + calibrate (:func:`lava_pinn.convert`)        ``snn.pt``
export     quantize to Loihi integers (:func:`exporters.export`)  ``network.h5``
run        torch twin on the evaluation grid, Lava CPU simulator  ``predictions.npz``,
           on a seeded subset (:func:`~.stages.run_stage`)        ``activity_<backend>.json``
energy     per-inference energy, ANN beside                       ``energy.{json,md,tex,csv}``
           (:func:`~.stages.energy_stage`)
figures    fields (exact / ANN / SNN on Lava) and error maps,      ``figures/*.png``,
           spike raster, error vs ``T``, energy-error Pareto      ``figures/figures.npz``
report     the summary table                                      ``report.md``
=========  =====================================================  ==============================

A stage is skipped when ``run.json`` records it with the same options, its files exist, none of
the files it was made from changed, and no stage before it ran again since (``--redo STAGE`` /
``--redo all`` force it and everything after it). A stage a user made by hand with a command
(``lava-pinn energy DIR --profile X``) is kept, with a line saying so, unless ``--redo`` names
it; where the files it was made from changed, the pipeline refuses rather than mix two runs.
The whole pipeline holds the run directory's write lock. Every file is written atomically and
every Lava run stops its runtime (also on Ctrl-C, a dead worker, a timeout), so an interrupted
pipeline keeps each finished artifact and leaves no Lava process behind; running the same
command again continues where it stopped.
"""

from __future__ import annotations

import contextlib
import io
import logging
import sysconfig
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from hardware.app.figures import figure_files, figures_options, make_figures
from hardware.app.stages import (
    ENERGY_PROFILES,
    LAVA_BATCH,
    LAVA_POINTS,
    CheckpointOptions,
    ConvertOptions,
    EnergyOptions,
    ExportOptions,
    RunOptions,
    checkpoint_stage,
    convert_stage,
    energy_stage,
    export_stage,
    is_lava,
    run_stage,
)
from lava_pinn.registry import Registry

log = logging.getLogger(__name__)

LOG_FILE = "pipeline.log"
STAGE_NAMES = ("train", "convert", "export", "run", "energy", "figures", "report")


def _pos_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"PipelineConfig.{name} must be an integer >= 1, got {value!r}")
    return value


def _str_tuple(value: object, name: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise TypeError(f"PipelineConfig.{name} must be a list of names, got {value!r}")
    if not value or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"PipelineConfig.{name} must be a non-empty list of names, got {value!r}")
    return tuple(dict.fromkeys(value))


@dataclass(frozen=True)
class PipelineConfig:
    """Everything ``lava-pinn pipeline`` does, with defaults that work for every MLP zoo problem.

    ``backends``: where the exported network runs (``torch-twin``: the whole evaluation grid, or
    ``grid_points`` seeded points of it; Lava backends: ``lava_points`` seeded grid points, in
    graphs of ``lava_batch`` points side by side, stopped after ``timeout_s`` seconds).
    ``profiles``: energy profiles (names or TOML files). ``field_times``: values of the third
    input (time) at which the field figures slice the domain, on ``field_grid`` points per axis
    (the Lava backend evaluates exactly these points). ``sweep_T``: time steps at which the
    converted network (calibrated at ``convert.T``) is re-simulated in float (torch) on
    ``sweep_points`` grid points for the error-vs-T and Pareto figures. ``threads``: torch
    threads. ``redo``: stages to run again (``"all"`` for every one).
    """

    problem: str
    out: Path
    train: bool = False
    convert: ConvertOptions = field(default_factory=ConvertOptions)
    export: ExportOptions = field(default_factory=ExportOptions)
    backends: tuple[str, ...] = ("torch-twin", "lava-cpu")
    lava_points: int = LAVA_POINTS
    lava_batch: int = LAVA_BATCH
    grid_points: int | None = None
    timeout_s: float = 600.0
    profiles: tuple[str, ...] = ENERGY_PROFILES
    field_times: tuple[float, ...] = (0.0, 0.5, 1.0)
    field_grid: int = 21
    sweep_T: tuple[int, ...] = (8, 16, 32, 64, 128)
    sweep_points: int = 512
    figures: bool = True
    seed: int = 0
    threads: int = 1
    redo: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        from hardware.backends import get_backend

        if not isinstance(self.problem, str) or not self.problem:
            raise ValueError(f"PipelineConfig.problem must be a problem name, got {self.problem!r}")
        object.__setattr__(self, "out", Path(self.out))
        if not isinstance(self.train, bool):
            raise TypeError(f"PipelineConfig.train must be true or false, got {self.train!r}")
        if not isinstance(self.convert, ConvertOptions):
            raise TypeError("PipelineConfig.convert must be a hardware.app.stages.ConvertOptions")
        if not isinstance(self.export, ExportOptions):
            raise TypeError("PipelineConfig.export must be a hardware.app.stages.ExportOptions")
        backends = _str_tuple(self.backends, "backends")
        object.__setattr__(self, "backends", tuple(get_backend(b).name for b in backends))
        for name in ("lava_points", "lava_batch", "field_grid", "sweep_points", "threads"):
            _pos_int(getattr(self, name), name)
        if self.grid_points is not None:
            _pos_int(self.grid_points, "grid_points")
        t = self.timeout_s
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not t > 0:
            raise ValueError(f"PipelineConfig.timeout_s must be a number > 0, got {t!r}")
        object.__setattr__(self, "profiles", _str_tuple(self.profiles, "profiles"))
        times = self.field_times
        if isinstance(times, (int, float)):
            times = (times,)
        try:
            times = tuple(float(v) for v in times)
        except (TypeError, ValueError):
            raise ValueError(
                f"PipelineConfig.field_times must be a list of numbers, got {self.field_times!r}"
            ) from None
        if not times:
            raise ValueError("PipelineConfig.field_times must hold at least one time")
        object.__setattr__(self, "field_times", times)
        sweep = tuple(self.sweep_T)
        for v in sweep:
            _pos_int(v, "sweep_T entries")
        object.__setattr__(self, "sweep_T", tuple(sorted(set(sweep))))
        if not isinstance(self.figures, bool):
            raise TypeError(f"PipelineConfig.figures must be true or false, got {self.figures!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"PipelineConfig.seed must be an integer, got {self.seed!r}")
        redo = tuple(self.redo)
        for r in redo:
            if r != "all" and r not in STAGE_NAMES:
                raise ValueError(
                    f"PipelineConfig.redo: unknown stage {r!r}; stages: "
                    f"{', '.join(STAGE_NAMES)} (or 'all')"
                )
        object.__setattr__(self, "redo", redo)

    @property
    def lava_backend(self) -> str | None:
        """The Lava backend that evaluates the field slices (``None`` if none is chosen)."""
        return next((b for b in self.backends if is_lava(b)), None)

    def run_options(self) -> RunOptions:
        """The ``run`` stage's options: Lava backends on ``lava_points``, torch on
        ``grid_points``."""
        return RunOptions(
            backends=self.backends,
            lava_points=self.lava_points,
            grid_points=self.grid_points,
            seed=self.seed,
            batch=self.lava_batch,
            timeout_s=self.timeout_s,
        )

    def energy_options(self) -> EnergyOptions:
        """The ``energy`` stage's options."""
        return EnergyOptions(profiles=self.profiles)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["out"] = str(self.out)
        return d


# ------------------------------------------------------------------------------------ stages
@dataclass(frozen=True)
class Stage:
    """One pipeline stage: ``options(config)`` is what ``run.json`` must hold for it to count as
    done, ``artifacts(rd, config)`` the files it must have left, ``run(ctx, bar)`` does it."""

    name: str
    options: Callable[[PipelineConfig], dict]
    artifacts: Callable[..., list[Path]]
    run: Callable[..., None]
    steps: Callable[[PipelineConfig], int] = lambda c: 1


STAGES: Registry[Stage] = Registry("pipeline stage")


@dataclass
class Context:
    """What stages share: the config, the run directory path, and the stages run this time."""

    config: PipelineConfig
    path: Path
    ran: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def rundir(self):
        """A fresh view of ``run.json`` (commands called by a stage write it themselves)."""
        from hardware.app.rundir import PIPELINE, RunDir

        return RunDir(self.path, by=PIPELINE)


def _train_options(c: PipelineConfig) -> dict:
    return CheckpointOptions(train=c.train, seed=c.seed).to_dict()


def _train_run(ctx: Context, bar) -> None:
    c = ctx.config
    checkpoint_stage(ctx.rundir(), c.problem, CheckpointOptions(c.train, c.seed), progress=False)
    bar.update()


def _convert_run(ctx: Context, bar) -> None:
    convert_stage(ctx.rundir(), ctx.config.convert)
    bar.update()


def _export_run(ctx: Context, bar) -> None:
    export_stage(ctx.rundir(), ctx.config.export)
    bar.update()


def _run_run(ctx: Context, bar) -> None:
    run_stage(ctx.rundir(), ctx.config.run_options(), say=print, on_backend=lambda b: bar.update())


def _energy_run(ctx: Context, bar) -> None:
    energy_stage(ctx.rundir(), ctx.config.energy_options())
    bar.update()


def _figures_run(ctx: Context, bar) -> None:
    make_figures(ctx.rundir(), ctx.config, bar)


def _report_run(ctx: Context, bar) -> None:
    from hardware.app.summary import write_report

    write_report(ctx.rundir())
    bar.update()


def _files(*keys: str):
    def get(rd, c: PipelineConfig) -> list[Path]:
        return [rd.file(k) for k in keys]

    return get


def _run_files(rd, c: PipelineConfig) -> list[Path]:
    return [rd.file("predictions")] + [rd.file("activity", backend=b) for b in c.backends]


def _figure_files(rd, c: PipelineConfig) -> list[Path]:
    return figure_files(rd, c)


for _stage in (
    Stage("train", _train_options, _files("checkpoint"), _train_run),
    Stage("convert", lambda c: c.convert.to_dict(), _files("snn"), _convert_run),
    Stage("export", lambda c: c.export.to_dict(), _files("network"), _export_run),
    Stage(
        "run", lambda c: c.run_options().to_dict(), _run_files, _run_run, lambda c: len(c.backends)
    ),
    Stage("energy", lambda c: c.energy_options().to_dict(), _files("energy"), _energy_run),
    Stage("figures", figures_options, _figure_files, _figures_run, lambda c: 3 + len(c.sweep_T)),
    Stage("report", lambda c: {}, _files("report"), _report_run),
):
    STAGES.register(_stage.name, _stage)


# ------------------------------------------------------------------------------------ driver
def _is_done(rd, stage: Stage, c: PipelineConfig, upstream_finished: str | None) -> bool:
    entry = rd.stage(stage.name)
    if stage.name == "train":
        # a checkpoint already in DIR is kept (it may be the user's own), unless --train asks
        # for a trained one and the one there is the pretrained copy
        source = (entry or {}).get("options", {}).get("source")
        if c.train and source == "pretrained":
            return False
        return rd.file("checkpoint").is_file()
    if entry is None:
        return False
    if not rd.is_done(stage.name, stage.options(c), *stage.artifacts(rd, c)):
        return False
    return upstream_finished is None or entry.get("finished", "") >= upstream_finished


class _Quiet:
    """Collect what a stage prints and warns, for ``DIR/pipeline.log`` and a short notice."""

    def __init__(self, ctx: Context, stage: str) -> None:
        self.ctx, self.stage = ctx, stage
        self.out = io.StringIO()
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> _Quiet:
        self._stack.enter_context(contextlib.redirect_stdout(self.out))
        self.caught = self._stack.enter_context(warnings.catch_warnings(record=True))
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()
        lines = [f"== {self.stage} ==", self.out.getvalue().rstrip()]
        seen: dict[str, None] = {}
        for w in self.caught:
            if _from_dependency(w):
                continue  # e.g. networkx's "pandas not found": nothing a user can act on
            seen.setdefault(f"{w.category.__name__}: {w.message}")
        lines += [f"warning: {m}" for m in seen]
        self.ctx.warnings += [f"{self.stage}: {m}" for m in seen]
        try:
            with open(self.ctx.path / LOG_FILE, "a", encoding="utf-8") as fh:
                fh.write("\n".join(x for x in lines if x) + "\n")
        except OSError as err:  # the log is a convenience; never hide the stage's own error
            log.warning("could not write %s: %s", self.ctx.path / LOG_FILE, err)


_OWN_PACKAGES = ("lava_pinn", "exporters", "hardware")


def _from_dependency(w: warnings.WarningMessage) -> bool:
    """A warning of a dependency (or the standard library) about itself: an import or
    deprecation notice, or a warning attributed to a file of a dependency. The project's
    warning classes and warnings naming the project's or a user's line stay."""
    from lava_pinn._warnings import is_own_file

    if getattr(w.category, "__module__", "").split(".")[0] in _OWN_PACKAGES:
        return False
    if issubclass(w.category, _QUIET_WARNINGS):
        return True  # import and deprecation notices of dependencies: for their developers
    name = w.filename or ""
    if is_own_file(name):
        return False
    parts = set(Path(name).parts)
    stdlib = sysconfig.get_paths()["stdlib"]
    return (
        "site-packages" in parts or "dist-packages" in parts or name.startswith(("<frozen", stdlib))
    )


def _progress(total: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    # disable=None: no bar when stderr is not a terminal (a log file, CI), so logs stay readable
    disable = None if enabled else True
    return tqdm(total=total, desc=desc, leave=True, disable=disable, unit="step")


def run_pipeline(
    config: PipelineConfig,
    *,
    progress: bool = True,
    after_stage: Callable[[str], None] | None = None,
    stream=None,
) -> Context:
    """Run every stage of ``config`` in ``config.out`` (see the module docstring).

    ``after_stage(name)`` is called after each stage that ran or was skipped (tests use it to
    interrupt). ``stream`` (default ``sys.stderr``) receives the one-line notices. Returns the
    :class:`Context` with the stages that ran and were skipped.
    """
    import sys

    from hardware.app.rundir import PIPELINE, RunDir
    from lava_pinn.problems import get_problem

    stream = sys.stderr if stream is None else stream
    c = config
    get_problem(c.problem)  # unknown problem: KeyError listing the zoo, before any file exists
    rd = RunDir(c.out, create=True, by=PIPELINE)
    with rd.writing("pipeline"):  # one writer at a time (RunDirBusy naming the other one)
        return _run_stages(rd, c, progress, after_stage, stream)


def _run_stages(rd, c: PipelineConfig, progress: bool, after_stage, stream) -> Context:
    import torch

    from lava_pinn.problems import get_problem

    rd.set_problem(get_problem(c.problem).name)
    _check_backends(c)
    if c.lava_backend is not None:
        # Lava sets the multiprocessing start method when imported; tqdm's lock would fix it
        # first (and Lava's import then fails), so Lava is imported before any progress bar.
        from exporters._lava import require_lava

        require_lava()
    torch.set_num_threads(c.threads)
    ctx = Context(c, rd.path)
    redo_all = "all" in c.redo
    forced = False
    upstream: str | None = None
    names = [n for n in STAGE_NAMES if c.figures or n != "figures"]
    current = None
    try:
        for i, name in enumerate(names, start=1):
            current = name
            stage = STAGES.get(name)
            desc = f"[{i}/{len(names)}] {name:8s}"
            named = redo_all or name in c.redo
            forced = forced or named
            rd = ctx.rundir()
            if not forced and _is_done(rd, stage, c, upstream):
                ctx.skipped.append(name)
                if rd.stage(name) is None:  # a checkpoint put into DIR by hand: adopt it
                    rd.record(name, {"source": "existing"}, outputs=[rd.file("checkpoint").name])
                print(f"{desc}: done earlier, kept (--redo {name} to run it again)", file=stream)
            elif not named and _keep_hand_made(rd, stage, c, desc, stream):
                ctx.skipped.append(name)
            else:
                forced = True  # everything after a stage that ran is redone
                t0 = time.perf_counter()
                with _progress(stage.steps(c), desc, progress) as bar, _Quiet(ctx, name) as q:
                    stage.run(ctx, bar)
                _notice(q, stream)
                ctx.ran.append(name)
                ctx.seconds[name] = time.perf_counter() - t0
                log.info("stage %s: %.1f s", name, ctx.seconds[name])
            entry = ctx.rundir().stage(name)
            upstream = entry.get("finished") if entry else upstream
            current = None
            if after_stage is not None:
                after_stage(name)
    except KeyboardInterrupt:
        done = [n for n in names if ctx.rundir().stage(n) is not None and n != current]
        print(
            f"\ninterrupted{f' during stage {current!r}' if current else ''}; finished stages "
            f"kept: {', '.join(done) or 'none'}. Run the same command again to continue.",
            file=stream,
        )
        raise
    return ctx


def _keep_hand_made(rd, stage: Stage, c: PipelineConfig, desc: str, stream) -> bool:
    """Keep what a user made by hand (``lava-pinn energy DIR --profile X``, say) unless
    ``--redo`` names its stage: ``True`` (one line saying so) while it is still made from the
    files there now; :class:`~hardware.app.rundir.RunDirError` where those changed, since
    keeping it would mix runs and replacing it is for ``--redo`` to ask."""
    from hardware.app.rundir import RunDirError

    by = rd.made_by_hand(stage.name)
    files = [p for p in stage.artifacts(rd, c) if p.is_file()]
    if stage.name in ("train", "report") or by is None or not files:
        return False
    names = ", ".join(p.name for p in files)
    changed = rd.stale(stage.name)
    if changed:
        raise RunDirError(
            f"{rd.path}: {names} was made by hand (`{by}`) from {', '.join(changed)}, which "
            f"changed since; the pipeline does not overwrite it unasked: add `--redo "
            f"{stage.name}` to replace it with the pipeline's, or run `{by}` again"
        )
    print(
        f"{desc}: kept {names} made by hand (`{by}`); add `--redo {stage.name}` to replace it "
        f"with the pipeline's",
        file=stream,
    )
    return True


_QUIET_WARNINGS = (ImportWarning, DeprecationWarning, PendingDeprecationWarning, ResourceWarning)


def _notice(q: _Quiet, stream) -> None:
    """One line per kind of warning a stage raised, in full: warnings that differ only in their
    numbers (one per layer, say) are one kind, shown once with how many more there are; every
    one is in the log. Dependencies' own warnings stay out (as they stay out of the log)."""
    import re

    kinds: dict[str, list[str]] = {}
    for w in q.caught:
        if issubclass(w.category, _QUIET_WARNINGS) or _from_dependency(w):
            continue
        text = f"{w.category.__name__}: {w.message}"
        kinds.setdefault(re.sub(r"\d+(?:\.\d+)?", "#", text), []).append(text)
    for texts in list(kinds.values())[:3]:
        texts = list(dict.fromkeys(texts))
        more = f" (and {len(texts) - 1} more like it in {LOG_FILE})" if len(texts) > 1 else ""
        print(f"    warning: {texts[0]}{more}", file=stream)
    if len(kinds) > 3:
        print(f"    ... {len(kinds) - 3} more kinds of warnings in {LOG_FILE}", file=stream)


def _check_backends(c: PipelineConfig) -> None:
    from hardware.backends import get_backend

    for b in c.backends:
        ok, reason = get_backend(b).available()
        if not ok:
            raise ValueError(
                f"backend {b!r} is unavailable here: {reason}; choose others with --backend "
                f"(for example torch-twin)"
            )


__all__ = [
    "LOG_FILE",
    "STAGES",
    "STAGE_NAMES",
    "Context",
    "PipelineConfig",
    "Stage",
    "run_pipeline",
]
