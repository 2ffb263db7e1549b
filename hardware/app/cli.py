"""The ``lava-pinn`` command line: a small registry of subcommands.

    lava-pinn problems                       # the problem zoo
    lava-pinn train burgers-1d --out runs/b  # train, write runs/b/checkpoint.pt, print metrics
    lava-pinn convert runs/b --T 32          # runs/b/checkpoint.pt -> runs/b/snn.pt

Each subcommand is a :class:`Command` (name, help, ``add_arguments(parser)``, ``run(args) -> int``)
registered with :func:`register_command`; other modules add theirs (demo, convert, export, run,
energy, pipeline) the same way, without touching :func:`main`. Errors print one line plus a hint
and exit with status 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import json
import os
import shlex
import signal
import sys
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lava_pinn._version import __version__
from lava_pinn.options import add_arguments, from_args, positive_int
from lava_pinn.registry import Registry

PROG = "lava-pinn"


class CLIError(Exception):
    """A user error: ``message`` (one line) and a ``hint`` saying what to do."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


@dataclass(frozen=True)
class Command:
    """A subcommand: ``add_arguments`` fills its parser, ``run`` executes it (returns exit code)."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]

    def __post_init__(self) -> None:
        if not callable(self.add_arguments) or not callable(self.run):
            raise TypeError(f"Command {self.name!r}: add_arguments and run must be callables")


COMMANDS: Registry[Command] = Registry("command")

# Modules that register further subcommands when the CLI starts: list them here, or declare an
# entry point in the group "lava_pinn.commands" (value: the module). They are imported by main, not
# at import time; one that fails to import is skipped with a warning naming it, so the other
# commands keep working (e.g. without Lava installed).
PLUGIN_MODULES: tuple[str, ...] = ()
# The built-in commands that need exporters, hardware or Lava: loaded by main like plugins.
BUILTIN_MODULES: tuple[str, ...] = (
    "hardware.app.export_cli",
    "hardware.app.run_cli",
    "hardware.app.ladder_cli",
    "hardware.app.pipeline_cli",
    "hardware.app.sigma_delta_cli",
    "hardware.app.figures_cli",
)
ENTRY_POINT_GROUP = "lava_pinn.commands"


def register_command(
    name: str,
    help: str,
    add_arguments: Callable[[argparse.ArgumentParser], None],
    run: Callable[[argparse.Namespace], int],
    *,
    replace: bool = False,
) -> Command:
    """Add a subcommand ``lava-pinn NAME`` (``ValueError`` if the name is taken)."""
    cmd = Command(name, help, add_arguments, run)
    COMMANDS.register(name, cmd, replace=replace)
    return cmd


class _Parser(argparse.ArgumentParser):
    """argparse that raises :class:`CLIError` instead of printing usage and exiting; a
    misspelt subcommand, option or choice gets a "did you mean" (:mod:`difflib`)."""

    def error(self, message: str):  # type: ignore[override]
        raise CLIError(_with_suggestion(self, message), f"see `{self.prog} --help`")

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]
        ns, extra = super().parse_known_args(args, namespace)
        # argparse reports a subcommand's unknown options from the top parser, which does
        # not know the subcommand's flags: suggest from the subparser that was chosen
        sub = getattr(self, "_command_parsers", {}).get(getattr(ns, "command", None))
        if sub is not None and any(a.startswith("--") for a in extra):
            bad = [a for a in extra if a.startswith("--")]
            raise CLIError(
                f"unrecognized arguments: {' '.join(extra)}{_close_option(sub, bad[0])}",
                f"see `{sub.prog} --help`",
            )
        return ns, extra


def _close_option(parser: argparse.ArgumentParser, arg: str) -> str:
    """`` (did you mean '--pieces'?)`` for a misspelt ``--option[=value]`` of ``parser``."""
    import difflib

    flags = [o for a in parser._actions for o in a.option_strings if o.startswith("--")]
    close = difflib.get_close_matches(arg.split("=", 1)[0], flags, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _with_suggestion(parser: argparse.ArgumentParser, message: str) -> str:
    import difflib
    import re

    m = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
    if m:
        choices = re.findall(r"'([^']*)'", m.group(2))
        close = difflib.get_close_matches(m.group(1), choices, n=1)
        if close:
            return f"{message} (did you mean {close[0]!r}?)"
    m = re.match(r"unrecognized arguments: (--\S+)", message)
    if m:
        return message + _close_option(parser, m.group(1))
    return message


# ------------------------------------------------------------------------------------ problems
def _problems_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the list as JSON")


def _problems_run(args: argparse.Namespace) -> int:
    from lava_pinn.problems import available, get_problem

    rows = [get_problem(n).describe() for n in available()]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    head = f"{'name':20s} {'inputs -> outputs':22s} {'default architecture':36s} exact  hard-bc"
    print(head)
    print("-" * len(head))
    for r in rows:
        io = f"({','.join(r['inputs'])}) -> ({','.join(r['outputs'])})"
        print(
            f"{r['name']:20s} {io:22s} {r['model']:36s} {'yes' if r['exact'] else 'no':6s} "
            f"{'yes' if r['hard_bc'] else 'no'}"
        )
    return 0


# ------------------------------------------------------------------------------------ train
def _train_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("problem", help="zoo problem name (see `lava-pinn problems`)")
    p.add_argument("--out", required=True, type=Path, help="output folder for checkpoint.pt")
    p.add_argument("--adam-steps", type=int, help="Adam steps (default: the problem's)")
    p.add_argument("--lbfgs-steps", type=int, help="L-BFGS iterations after Adam (0 = none)")
    p.add_argument("--lr", type=float, help="Adam learning rate")
    p.add_argument("--n-collocation", type=int, help="PDE collocation points")
    p.add_argument("--n-boundary", type=int, help="boundary/initial condition points")
    p.add_argument("--width", type=positive_int, help="hidden layer width")
    p.add_argument("--depth", type=positive_int, help="number of hidden layers")
    p.add_argument("--activation", help="activation (tanh, sin, ...)")
    p.add_argument("--seed", type=int, help="random seed (default 0)")
    p.add_argument("--dtype", help="float32 (default) or float64")
    p.add_argument("--hard-bc", action="store_true", help="impose BC/IC exactly: u = g + d*N")
    p.add_argument("--threads", type=positive_int, default=1, help="torch threads (default 1)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--pretrained",
        action="store_true",
        help="copy the committed pretrained checkpoint instead of training",
    )


def _copy_pretrained(problem, out: Path) -> int:
    from hardware.app.stages import CheckpointOptions, checkpoint_stage

    if out.exists() and not out.is_dir():
        raise CLIError(f"--out {out} exists and is not a folder", "pass a folder path")
    ck = checkpoint_stage(_run_dir(out, create=True), problem.name, CheckpointOptions())
    print(f"problem     {problem.name} {problem.param_values}")
    print(f"model       {ck.config.describe()} (pretrained)")
    rel = ck.metrics.get("rel_l2", {})
    if rel:
        print("rel. L2     " + ", ".join(f"{k} {100 * v:.3f}%" for k, v in rel.items()))
    print(f"checkpoint  {ck.path}")
    return 0


def _model_config(problem, args: argparse.Namespace):
    cfg = problem.default_model()
    changes: dict = {}
    if args.width is not None or args.depth is not None:
        width = args.width or cfg.widths[0]
        depth = args.depth or len(cfg.widths)
        changes["widths"] = (width,) * depth
    if args.activation is not None:
        changes["activation"] = args.activation
    return dataclasses.replace(cfg, **changes) if changes else cfg


def _train_run(args: argparse.Namespace) -> int:
    import torch

    from lava_pinn.problems import get_problem
    from lava_pinn.training import TrainConfig, train

    torch.set_num_threads(args.threads)
    problem = get_problem(args.problem)
    if args.pretrained:
        return _copy_pretrained(problem, Path(args.out))
    overrides = {
        k: v
        for k, v in {
            "adam_steps": args.adam_steps,
            "lbfgs_steps": args.lbfgs_steps,
            "lr": args.lr,
            "n_collocation": args.n_collocation,
            "n_boundary": args.n_boundary,
            "seed": args.seed,
            "dtype": args.dtype,
        }.items()
        if v is not None
    }
    overrides["hard_bc"] = bool(args.hard_bc)
    config = TrainConfig.for_problem(problem, **overrides)
    model_config = _model_config(problem, args)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CLIError(f"--out {out} exists and is not a folder", "pass a folder path")
    rd = _run_dir(out, create=True)
    with rd.writing("stage train"):  # the whole training: no other writer meanwhile
        rd.set_problem(problem.name)
        result = train(problem, model_config, config, progress=not args.quiet)
        path = result.save(rd.file("checkpoint"))
        rd.record(
            "train",
            {"source": "trained", "seed": config.seed, "model": model_config.describe()},
            {"rel_l2": result.metrics.get("rel_l2", {})},
            outputs=[path.name],
        )
    m = result.metrics
    print(f"problem     {problem.name} {problem.param_values}")
    print(f"model       {model_config.describe()}{' (hard BC)' if config.hard_bc else ''}")
    print(
        f"training    {config.adam_steps} Adam + {m['lbfgs_iterations']} L-BFGS, "
        f"{m['wall_time_s']:.1f} s"
    )
    terms = ", ".join(f"{k} {v:.2e}" for k, v in m["loss_terms"].items())
    print(f"loss        {m['loss']:.3e} ({terms})")
    print("rel. L2     " + ", ".join(f"{k} {100 * v:.3f}%" for k, v in m["rel_l2"].items()))
    print(f"checkpoint  {path}")
    return 0


# ------------------------------------------------------------------------------------ convert
def _run_dir(path: Path, *, create: bool = False):
    """The run directory at ``path``; its errors become one-line :class:`CLIError` s."""
    from hardware.app.rundir import RunDir, RunDirError

    try:
        return RunDir(path, create=create)
    except RunDirError as err:
        raise CLIError(str(err), "see `lava-pinn pipeline --help`") from None


def add_convert_arguments(p: argparse.ArgumentParser, *, defaults: bool = True) -> None:
    """The conversion options (shared by ``convert`` and ``pipeline``), one flag per field of
    :class:`~lava_pinn.conversion.options.ConvertOptions` (``--seed`` excepted: the commands
    have their own); ``defaults=False`` leaves them ``None`` so a config file can fill what
    the command line does not give."""
    from lava_pinn.conversion.options import ConvertOptions

    add_arguments(p, ConvertOptions, defaults=defaults, skip=("seed",))


def convert_options(args: argparse.Namespace, base: dict | None = None):
    """:class:`~hardware.app.stages.ConvertOptions` from parsed flags over ``base`` values (a
    config file's). When the flags choose another representation than ``base``, the options
    of ``base`` that only the old one reads (``pieces`` for ``pwl``, say) are dropped with a
    warning, and the same for another calibration; the same options given as flags are kept,
    and refused if the method does not read them."""
    from lava_pinn.conversion.calibration import CALIBRATIONS
    from lava_pinn.conversion.options import ConvertOptions
    from lava_pinn.conversion.representations import REPRESENTATIONS

    values = dict(base or {})
    flags = from_args(args, ConvertOptions)
    if getattr(args, "seed", None) is not None:
        flags["seed"] = args.seed
    for field, reg in (("representation", REPRESENTATIONS), ("calibration", CALIBRATIONS)):
        chosen = flags.get(field)
        if chosen is None or chosen == values.get(field) or chosen not in reg:
            continue
        own = dict(reg.get(chosen).options)
        specific = {k for _, e in reg.items() for k, _ in e.options}
        dropped = sorted(
            k for k in specific - set(own) if values.get(k) is not None and k not in flags
        )
        if dropped:
            warnings.warn(
                f"--{field} {chosen}: the config file's "
                f"{', '.join(f'{k}={values[k]!r}' for k in dropped)} "
                f"{'is' if len(dropped) == 1 else 'are'} not read by {chosen!r} and "
                f"{'is' if len(dropped) == 1 else 'are'} ignored",
                stacklevel=2,
            )
            for k in dropped:
                del values[k]
    values.update(flags)
    return ConvertOptions(**values)


def _convert_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", type=Path, help="run directory holding checkpoint.pt")
    add_convert_arguments(p)
    p.add_argument("--seed", type=int, default=0, help="seed of the calibration points (default 0)")
    p.add_argument("--threads", type=positive_int, default=1, help="torch threads (default 1)")


def _convert_run(args: argparse.Namespace) -> int:
    import torch

    from hardware.app.stages import convert_stage

    torch.set_num_threads(args.threads)
    rd = _run_dir(args.dir)
    opts = convert_options(args)
    snn = convert_stage(rd, opts)
    info = rd.stage("convert")["info"]
    err = info.get("calibration_error_final")
    print(f"network     {snn!r}: {snn.neurons} neurons, {snn.synapses} synapses")
    print(
        f"conversion  {opts.representation} / {opts.calibration} calibration on "
        f"{opts.calibration_points} points, {info['seconds']:.1f} s"
        + (f"; calibration-set error vs ANN {100 * err:.3g}%" if err is not None else "")
    )
    print(f"snn         {rd.file('snn')}")
    print(f"next        lava-pinn export {rd.path}")
    return 0


register_command("problems", "list the PINN problem zoo", _problems_args, _problems_run)
register_command("train", "train a PINN on a zoo problem", _train_args, _train_run)
register_command(
    "convert",
    "convert DIR/checkpoint.pt into a spiking network DIR/snn.pt",
    _convert_args,
    _convert_run,
)


# ------------------------------------------------------------------------------------ main
def _plugin_modules() -> list[str]:
    mods = [*BUILTIN_MODULES, *PLUGIN_MODULES]
    try:
        from importlib.metadata import entry_points

        mods += [ep.value.split(":")[0] for ep in entry_points(group=ENTRY_POINT_GROUP)]
    except Exception:  # metadata of a broken install must not stop the CLI
        pass
    return list(dict.fromkeys(mods))


def _load_plugins() -> None:
    for mod in _plugin_modules():
        try:
            importlib.import_module(mod)
        except ImportError as err:
            warnings.warn(f"lava-pinn: commands of {mod} are unavailable ({err})", stacklevel=2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="PINNs -> spiking networks -> Lava / Loihi 2.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument(  # taken out of argv by main before parsing, anywhere on the line
        "--problem-module",
        action="append",
        metavar="FILE",
        help="a Python file registering problems (activations, neuron models) for any command; "
        "anywhere on the line, repeatable; also $LAVA_PINN_PROBLEM_MODULES (path list)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, cmd in COMMANDS.items():
        p = sub.add_parser(name, help=cmd.help, description=cmd.help)
        cmd.add_arguments(p)
        p.set_defaults(_run=cmd.run)
    parser._command_parsers = dict(sub.choices)  # for "did you mean" on their options
    return parser


def _hint_for(err: BaseException) -> str:
    import errno

    text = str(err)
    disk = isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
    if disk or "could not write" in text:
        return (
            "free disk space (or raise the file-size limit) and run the command again; "
            "the files it would have replaced are unchanged"
        )
    if "cannot finish: worker process" in text:
        return "run the same command again (finished stages are kept)"
    if "is being written by" in text:
        return "wait for that command to finish, or set LAVA_PINN_WAIT=SECONDS to wait for it"
    if "unknown problem" in text:
        return rundir_hint(err, "run `lava-pinn problems` for the list")
    if "MLPs only" in text:
        return "convert a SPINN in Python: lava_pinn.convert(load_checkpoint(PATH))"
    if "does not use it" in text or "does not use them" in text or "is read by" in text:
        return "drop the option or choose the method named above (see `lava-pinn COMMAND --help`)"
    if "checkpoint" in text:
        return "check the path, or retrain with `lava-pinn train PROBLEM --out DIR`"
    if "TrainConfig" in text or "MLPConfig" in text or "SPINNConfig" in text:
        return "fix the option named above (see `lava-pinn train --help`)"
    if "Options." in text or "PipelineConfig" in text:
        return "fix the option named above (see `lava-pinn COMMAND --help`)"
    if "lava-pinn " in text:
        return "run the command named above"
    return "run with --debug for the traceback"


def rundir_hint(err: Exception, default: str = "run the command named above first") -> str:
    """The hint beside a run directory's error: the problem's file where its code is missing
    (the error names the file run.json records), ``default`` otherwise."""
    from hardware.app.usermodules import OPTION

    if OPTION in str(err):
        return f"pass {OPTION} FILE, the Python file that registers the problem"
    return default


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


_fork_hook: list[bool] = []


def _children_die_quietly_on_sigterm() -> None:
    """A process forked while :func:`_terminate` handles SIGTERM (a Lava worker) gets the
    default back: stopped with SIGTERM, it ends without a KeyboardInterrupt traceback."""

    def reset() -> None:
        if signal.getsignal(signal.SIGTERM) is _terminate:
            with contextlib.suppress(ValueError):
                signal.signal(signal.SIGTERM, signal.SIG_DFL)

    if not _fork_hook:
        os.register_at_fork(after_in_child=reset)
        _fork_hook.append(True)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``lava-pinn``; returns the exit status (0 ok, 2 usage/input error,
    130 interrupted). SIGTERM is handled like Ctrl-C, so a killed background run still stops
    its Lava workers and leaves only finished artifacts."""
    console = argv is None  # the `lava-pinn` program, not a call from Python
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    previous = None
    torch = sys.modules.get("torch")  # commands set their own --threads; a caller's is restored
    threads = torch.get_num_threads() if torch is not None else None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminate)
        _children_die_quietly_on_sigterm()
    try:
        with warnings.catch_warnings():
            if console and not debug:  # a caller's own warning capture stays in charge
                warnings.showwarning = _show_warning
            _load_plugins()
            from hardware.app.usermodules import load_from_argv

            argv = load_from_argv(argv)  # --problem-module FILE, $LAVA_PINN_PROBLEM_MODULES
            from hardware.app import rundir_lock

            rundir_lock.COMMAND = shlex.join([PROG, *argv])  # who writes, in run.json and locks
            parser = build_parser()
            args = parser.parse_args(argv)
            if not getattr(args, "command", None):
                parser.print_help()
                return 2
            rc = int(args._run(args) or 0)
            sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
            return rc
    except BrokenPipeError:
        # `lava-pinn report DIR | head -1`: the reader left; end quietly like other Unix tools
        if console:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except CLIError as err:
        if debug:
            raise
        _report(err.message, err.hint)
        return 2
    except (ValueError, KeyError, TypeError, RuntimeError, OSError) as err:
        if debug:
            raise
        msg = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
        _report(str(msg).splitlines()[0] if str(msg) else type(err).__name__, _hint_for(err))
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    finally:
        from hardware.app.usermodules import forget_given

        forget_given()  # the files stay imported; later run directories no longer record them
        from hardware.app import rundir_lock

        rundir_lock.COMMAND = None
        if threads is not None:
            torch.set_num_threads(threads)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as one line each, without the source line they came from."""
    print(f"{PROG}: {category.__name__}: {message}", file=sys.stderr if file is None else file)


def _report(message: str, hint: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    if hint:
        print(f"  hint: {hint}", file=sys.stderr)


if __name__ == "__main__":
    # `python -m hardware.app.cli` runs this file as __main__; command modules register their
    # commands in the importable hardware.app.cli, so dispatch through that module.
    from hardware.app.cli import main as _main

    sys.exit(_main())
