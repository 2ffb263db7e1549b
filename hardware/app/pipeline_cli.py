"""``lava-pinn pipeline``, ``lava-pinn report`` and ``lava-pinn demo``.

    lava-pinn pipeline navier-stokes-tg --out runs/ns            # every stage, summary at the end
    lava-pinn pipeline regression-1d --out runs/x2 --T 32 --config study.toml
    lava-pinn pipeline navier-stokes-tg --out runs/ns --redo export   # export and what follows
    lava-pinn report runs/ns                                      # the summary + DIR/report.md
    lava-pinn demo                  # = pipeline navier-stokes-tg --out runs/demo --config demo.toml

Options come from, in increasing priority: the defaults of :class:`~hardware.app.pipeline.
PipelineConfig`, a TOML file (``--config``: top-level keys are ``PipelineConfig`` fields,
tables ``[convert]`` and ``[export]`` hold :class:`~hardware.app.stages.ConvertOptions` and
:class:`~hardware.app.stages.ExportOptions`), and the command line. The commands register with
:func:`hardware.app.cli.register_command` when this module is imported (entry point group
``lava_pinn.commands``).
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from hardware.app.cli import (
    CLIError,
    add_convert_arguments,
    positive_int,
    register_command,
    rundir_hint,
)
from hardware.app.stages import LAVA_BATCH, LAVA_POINTS, ExportOptions
from lava_pinn.options import deprecated_alias, positive_float
from lava_pinn.registry import did_you_mean

DEMO_PROBLEM = "navier-stokes-tg"
DEMO_OUT = Path("runs/demo")
DEMO_CONFIG_FILE = Path(__file__).resolve().parent.parent / "demo.toml"  # what `make demo` passes


def _csv(kind: type):
    def parse(text: str):
        try:
            vals = [kind(v) for v in text.replace(",", " ").split()]
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a comma-separated list of {kind.__name__}, got {text!r}"
            ) from None
        if not vals:
            raise argparse.ArgumentTypeError("expected at least one value")
        return vals

    return parse


def _default(name: str) -> str:
    """A :class:`~hardware.app.pipeline.PipelineConfig` field's default as help text shows it."""
    from hardware.app.pipeline import PipelineConfig

    f = PipelineConfig.__dataclass_fields__[name]
    value = f.default
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return "all" if value is None else str(value)


def _pipeline_args(p: argparse.ArgumentParser, *, demo: bool = False) -> None:
    if demo:
        p.add_argument("problem", nargs="?", default=DEMO_PROBLEM, help=f"({DEMO_PROBLEM})")
        p.add_argument("--out", type=Path, default=DEMO_OUT, help=f"run directory ({DEMO_OUT})")
    else:
        p.add_argument("problem", help="zoo problem name (see `lava-pinn problems`)")
        p.add_argument("--out", type=Path, required=True, help="run directory")
    p.add_argument("--config", type=Path, help="TOML file with pipeline options")
    p.add_argument("--train", action="store_true", default=None, help="train instead of pretrained")
    g = p.add_argument_group("convert")
    add_convert_arguments(g, defaults=False)
    g = p.add_argument_group("export")
    g.add_argument(
        "--scoring-points",
        dest="export_points",
        type=positive_int,
        help=f"quantization scoring points ({ExportOptions.scoring_points})",
    )
    deprecated_alias(g, "--export-points", "--scoring-points", "export_points", type=positive_int)
    g.add_argument("--netx", action="store_true", default=None, help="also write network.net")
    g = p.add_argument_group("run")
    g.add_argument(
        "--backend",
        dest="backends",
        action="append",
        metavar="B",
        help=f"backend to run on (repeatable; default {_default('backends')})",
    )
    deprecated_alias(
        g, "--backends", "--backend B (repeatable)", "backends", type=_csv(str), append=True
    )
    g.add_argument(
        "--lava-points", type=positive_int, help=f"grid points run on Lava ({LAVA_POINTS})"
    )
    g.add_argument("--lava-batch", type=positive_int, help=f"Lava points per graph ({LAVA_BATCH})")
    g.add_argument(
        "--grid-points",
        type=positive_int,
        help=f"torch backends: a subset ({_default('grid_points')})",
    )
    g.add_argument(
        "--timeout-s",
        type=positive_float,
        dest="timeout_s",
        help=f"Lava watchdog, s ({_default('timeout_s')})",
    )
    deprecated_alias(g, "--timeout", "--timeout-s", "timeout_s", type=positive_float)
    g = p.add_argument_group("energy and figures")
    g.add_argument(
        "--profile",
        dest="profiles",
        action="append",
        metavar="P",
        help=f"energy profile name or TOML file (repeatable; default {_default('profiles')})",
    )
    deprecated_alias(
        g, "--profiles", "--profile P (repeatable)", "profiles", type=_csv(str), append=True
    )
    g.add_argument(
        "--field-times",
        type=_csv(float),
        help=f"times of the field slices ({_default('field_times')})",
    )
    g.add_argument(
        "--field-grid", type=positive_int, help=f"slice points per axis ({_default('field_grid')})"
    )
    g.add_argument(
        "--sweep-T", type=_csv(int), dest="sweep_T", help=f"T values ({_default('sweep_T')})"
    )
    g.add_argument(
        "--sweep-points",
        type=positive_int,
        help=f"grid points of the T sweep ({_default('sweep_points')})",
    )
    g.add_argument("--no-figures", action="store_true", help="skip the figures stage")
    g = p.add_argument_group("general")
    g.add_argument("--seed", type=int, help="seed of point subsets and calibration points (0)")
    g.add_argument("--threads", type=positive_int, help="torch threads (1)")
    g.add_argument(
        "--redo",
        action="append",
        default=[],
        metavar="STAGE",
        help="run STAGE and the stages after it again (repeatable; 'all')",
    )
    g.add_argument("--quiet", action="store_true", help="no progress bars")


_PIPELINE_FLAGS = (
    "train",
    "backends",
    "lava_points",
    "lava_batch",
    "grid_points",
    "timeout_s",
    "profiles",
    "field_times",
    "field_grid",
    "sweep_T",
    "sweep_points",
    "seed",
    "threads",
)


def read_config(path: Path) -> dict:
    """The options of a TOML pipeline file, checked against the known fields."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    from hardware.app.pipeline import PipelineConfig

    if not path.is_file():
        raise CLIError(f"config file {path} does not exist", "pass an existing TOML file")
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise CLIError(f"config file {path}: not valid TOML ({err})", "fix the file") from None
    known = {f.name for f in dataclasses.fields(PipelineConfig)} - {"out", "redo"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise CLIError(
            f"config file {path}: unknown option(s) {', '.join(unknown)}"
            f"{did_you_mean(unknown, known)}",
            f"known: {', '.join(sorted(known))}",
        )
    for table, cls in (("convert", "ConvertOptions"), ("export", "ExportOptions")):
        if table in data and not isinstance(data[table], dict):
            raise CLIError(f"config file {path}: '{table}' must be a table [{table}]", "fix it")
        if table == "export":
            _rename_legacy(path, data.get("export", {}))
        fields = _fields_of(cls)
        bad = sorted(set(data.get(table, {})) - fields)
        if bad:
            raise CLIError(
                f"config file {path}: unknown [{table}] option(s) {', '.join(bad)}"
                f"{did_you_mean(bad, fields)}",
                f"known: {', '.join(sorted(fields))}",
            )
    return data


# [export] keys renamed so that one option has one spelling on every command and in TOML
LEGACY_EXPORT_KEYS = {"calibration_points": "scoring_points"}  # --scoring-points


def _rename_legacy(path: Path, table: dict) -> None:
    import warnings

    for old, new in LEGACY_EXPORT_KEYS.items():
        if old not in table:
            continue
        if new in table:
            raise CLIError(
                f"config file {path}: [export] has both {old} and {new}", f"keep {new} only"
            )
        warnings.warn(
            f"config file {path}: [export] {old} is deprecated and will be removed; write "
            f"{new} (the --scoring-points of export and pipeline; [convert] {old} is the "
            f"conversion's points)",
            FutureWarning,
            stacklevel=2,
        )
        table[new] = table.pop(old)


def _fields_of(cls: str) -> set[str]:
    from hardware.app.stages import ConvertOptions

    return {
        f.name
        for f in dataclasses.fields(
            {"ConvertOptions": ConvertOptions, "ExportOptions": ExportOptions}[cls]
        )
    }


def build_config(args: argparse.Namespace, base: dict | None = None):
    """:class:`~hardware.app.pipeline.PipelineConfig` from ``base`` (demo defaults), ``--config``
    and the flags, in that order of priority."""
    from hardware.app.cli import convert_options
    from hardware.app.pipeline import PipelineConfig

    values: dict = {k: v for k, v in (base or {}).items()}
    conv = dict(values.pop("convert", {}))
    exp = dict(values.pop("export", {}))
    if args.config is not None:
        data = read_config(args.config)
        conv.update(data.pop("convert", {}))
        exp.update(data.pop("export", {}))
        values.update(data)
    for name in _PIPELINE_FLAGS:
        v = getattr(args, name, None)
        if v is not None:
            values[name] = v
    if args.no_figures:
        values["figures"] = False
    if args.export_points is not None:
        exp["scoring_points"] = args.export_points
    if args.netx:
        exp["netx"] = True
    values.pop("problem", None)
    return PipelineConfig(
        problem=args.problem,
        out=args.out,
        convert=convert_options(args, conv),
        export=ExportOptions(**exp),
        redo=tuple(args.redo),
        **values,
    )


def _pipeline_run(args: argparse.Namespace, base: dict | None = None) -> int:
    from hardware.app.pipeline import run_pipeline
    from hardware.app.rundir import RunDir, RunDirError
    from hardware.app.summary import summarize, to_text

    config = build_config(args, base)
    try:
        ctx = run_pipeline(config, progress=not args.quiet)
        rd = RunDir(ctx.path)
        print(to_text(summarize(rd)))
    except RunDirError as err:
        raise CLIError(str(err), "see `lava-pinn pipeline --help`") from None
    ran = ", ".join(f"{n} ({ctx.seconds[n]:.0f} s)" for n in ctx.ran) or "none"
    print(f"\nstages run: {ran}; kept from before: {', '.join(ctx.skipped) or 'none'}")
    print(f"report: {rd.file('report')}")
    return 0


def _demo_run(args: argparse.Namespace) -> int:
    base = read_config(DEMO_CONFIG_FILE)
    base.pop("problem", None)
    return _pipeline_run(args, base)


def _report_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", type=Path, help="run directory (after `lava-pinn run`)")


def _report_run(args: argparse.Namespace) -> int:
    from hardware.app.rundir import RunDir, RunDirError
    from hardware.app.summary import summarize, to_text, write_report

    try:
        rd = RunDir(args.dir)
        path = write_report(rd)
    except RunDirError as err:
        raise CLIError(str(err), rundir_hint(err)) from None
    print(to_text(summarize(rd)))
    print(f"\nreport: {path}")
    return 0


register_command(
    "pipeline",
    "train/pretrained -> convert -> export -> run -> energy -> figures -> report, in one run dir",
    _pipeline_args,
    _pipeline_run,
)
register_command(
    "demo",
    f"the README demo: pipeline {DEMO_PROBLEM} into {DEMO_OUT}",
    lambda p: _pipeline_args(p, demo=True),
    _demo_run,
)
register_command("report", "summary table and DIR/report.md of a run", _report_args, _report_run)

__all__ = ["DEMO_CONFIG_FILE", "build_config", "read_config"]
