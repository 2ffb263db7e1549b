"""User Python files that register problems (activations, neuron models, ...) for the CLI.

    lava-pinn pipeline my-problem --out runs/mine --problem-module my_problems.py
    LAVA_PINN_PROBLEM_MODULES=my_problems.py:more.py lava-pinn pipeline my-problem --out runs/m

``--problem-module FILE`` is an option of ``lava-pinn`` itself, accepted anywhere on the command
line (before or after the subcommand; repeatable), and :data:`ENV_VAR` holds further files
(``os.pathsep``-separated). Each file is imported once per process under a unique module name
(:func:`load`), before the commands are parsed, so whatever it registers is available to every
command. A run directory made or used with such files records them (path and sha256) in
``run.json`` under ``problem_modules``. Opening a run directory never imports them (a
directory from elsewhere could name any file): :func:`check_recorded` only warns when a recorded
file has changed or vanished, and :func:`missing_note` names them in "unknown problem" errors.

The errors are one line: a file that does not exist, a file whose import raises (the file, the
line and the first line of the error). A file that registers nothing new is a warning.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import sys
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path

from lava_pinn.registry import Registry

OPTION = "--problem-module"
ENV_VAR = "LAVA_PINN_PROBLEM_MODULES"
MANIFEST_KEY = "problem_modules"


class ProblemModuleError(ValueError):
    """A user file given with ``--problem-module`` (or :data:`ENV_VAR`) cannot be loaded."""


@dataclass(frozen=True)
class UserModule:
    """A loaded user file: resolved ``path``, its ``sha256``, the ``module`` name it was imported
    under and what it ``registered`` (``"problem 'my-sine'"``, ...)."""

    path: Path
    sha256: str
    module: str
    registered: tuple[str, ...]

    def record(self) -> dict:
        return {"path": str(self.path), "sha256": self.sha256}


_LOADED: dict[Path, UserModule] = {}  # resolved path -> the latest load of it
_GIVEN: list[Path] = []  # loaded from the command line / environment by the current command
_WARNED: set[tuple[str, str]] = set()


def file_sha256(path: str | os.PathLike) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _snapshot() -> dict[Registry, dict[str, int]]:
    return {r: {k: id(v) for k, v in r.items()} for r in Registry.instances()}


def _new_entries(before: dict[Registry, dict[str, int]]) -> tuple[str, ...]:
    new = []
    for reg in Registry.instances():
        old = before.get(reg)
        if old is None:  # a registry the file's imports created: the library's, not the file's
            continue
        new += [f"{reg.kind} {k!r}" for k, v in reg.items() if old.get(k) != id(v)]
    return tuple(sorted(new))


def _module_name(path: Path) -> str:
    stem = re.sub(r"\W", "_", path.stem) or "module"
    return f"lava_pinn_user_{stem}_{hashlib.sha256(str(path).encode()).hexdigest()[:10]}"


def _import_error(path: Path, shown: str, err: BaseException) -> ProblemModuleError:
    if isinstance(err, SyntaxError):
        where, what = f"line {err.lineno}", f"SyntaxError: {err.msg}"
    else:
        frames = [f for f in traceback.extract_tb(err.__traceback__) if Path(f.filename) == path]
        where = f"line {frames[-1].lineno}" if frames else "on import"
        text = str(err).strip().splitlines()
        what = f"{type(err).__name__}: {text[0]}" if text else type(err).__name__
    return ProblemModuleError(
        f"problem module {shown} ({where}) raised {what}; fix the file (--debug shows the "
        f"traceback)"
    )


def load(path: str | os.PathLike, *, warn_empty: bool = True) -> UserModule:
    """Import the Python file ``path`` (once per process while it is unchanged) and return what
    it registered. :class:`ProblemModuleError` if it does not exist or raises on import; a
    warning if it registers nothing new (``warn_empty``)."""
    shown = str(path)
    p = Path(path).expanduser()
    if not p.is_file():
        what = "is a folder, not a Python file" if p.is_dir() else "does not exist"
        raise ProblemModuleError(f"problem module {shown} {what}; pass the path of a .py file")
    p = p.resolve()
    sha = file_sha256(p)
    old = _LOADED.get(p)
    if old is not None and old.sha256 == sha:
        return old
    name = _module_name(p)
    spec = importlib.util.spec_from_file_location(name, p)
    if spec is None or spec.loader is None:
        raise ProblemModuleError(f"problem module {shown}: not importable as a Python file")
    module = importlib.util.module_from_spec(spec)
    before = _snapshot()
    sys.modules[name] = module  # dataclasses and pickling look the module up by name
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as err:
        sys.modules.pop(name, None)
        raise _import_error(p, shown, err) from err
    loaded = UserModule(p, sha, name, _new_entries(before))
    _LOADED[p] = loaded
    if warn_empty and not loaded.registered:
        warnings.warn(
            f"problem module {shown} registered nothing new (no problem, activation or neuron "
            f"model); call register_problem (or register_activation, register_neuron) in it",
            stacklevel=2,
        )
    return loaded


def split_argv(argv: list[str]) -> tuple[list[str], list[str]]:
    """``(files, rest)``: the values of every ``--problem-module FILE`` / ``--problem-module=FILE``
    in ``argv`` (before a ``--``) and the other arguments."""
    files, rest = [], []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            rest += argv[i:]
            break
        if a == OPTION:
            if i + 1 >= len(argv) or argv[i + 1].startswith("-"):
                raise ProblemModuleError(f"{OPTION} needs a FILE (a Python file)")
            files.append(argv[i + 1])
            i += 2
            continue
        if a.startswith(OPTION + "="):
            files.append(a.split("=", 1)[1])
        else:
            rest.append(a)
        i += 1
    return files, rest


def env_files() -> list[str]:
    """The files of :data:`ENV_VAR` (``os.pathsep``-separated; empty entries skipped)."""
    return [f for f in os.environ.get(ENV_VAR, "").split(os.pathsep) if f.strip()]


def load_from_argv(argv: list[str]) -> list[str]:
    """Load the files of :data:`ENV_VAR` and of ``--problem-module`` options in ``argv``;
    returns ``argv`` without those options. The files count as given by the current command
    (recorded in the run directories it writes) until :func:`forget_given`."""
    files, rest = split_argv(argv)
    for f in [*env_files(), *files]:
        mod = load(f)
        if mod.path not in _GIVEN:
            _GIVEN.append(mod.path)
    return rest


def forget_given() -> None:
    """The end of a command: its files stay imported but are no longer recorded."""
    _GIVEN.clear()


def given() -> list[UserModule]:
    """The files given to the current command (command line and environment), as loaded."""
    return [_LOADED[p] for p in _GIVEN if p in _LOADED]


def _warn_once(key: tuple[str, str], message: str) -> None:
    if key not in _WARNED:
        _WARNED.add(key)
        warnings.warn(message, stacklevel=3)


def check_recorded(manifest: dict, where: str) -> None:
    """Warn about the files that ``manifest`` (a ``run.json``, of run directory ``where``)
    records but that vanished or changed since. Nothing is imported: opening a run directory
    never runs code it names (a directory from elsewhere could name any file); commands that
    need a recorded problem's code take ``--problem-module FILE``, and their error says so."""
    for entry in manifest.get(MANIFEST_KEY) or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            continue
        p, sha = Path(entry["path"]), entry.get("sha256")
        if not p.is_file():
            _warn_once(
                (str(p), "gone"),
                f"{where}/run.json records problem module {p}, which no longer exists: "
                f"commands that need its problems fail (report and energy work from run.json); "
                f"restore the file or pass {OPTION} FILE",
            )
            continue
        now = file_sha256(p)
        if sha and now != sha:
            _warn_once(
                (str(p), now),
                f"problem module {p} has changed since {where} recorded it (sha256 {sha[:12]} "
                f"then, {now[:12]} now); the run's artifacts may not match the code",
            )


def missing_note(manifest: dict) -> str:
    """For an error about an unregistered problem: the files ``manifest`` records, if any."""
    paths = [e.get("path") for e in manifest.get(MANIFEST_KEY) or [] if isinstance(e, dict)]
    if not paths:
        return f"; pass {OPTION} FILE with the file that registers it"
    gone = [p for p in paths if not Path(str(p)).is_file()]
    return (
        f"; run.json records problem module(s) {', '.join(map(str, paths))}"
        + (f" ({', '.join(map(str, gone))} no longer exist(s))" if gone else "")
        + f": restore the file or pass {OPTION} FILE with the file that registers it"
    )


def update_record(manifest: dict, where: str) -> None:
    """Add the files given to the current command to ``manifest``'s ``problem_modules`` (by
    path; a changed file's sha256 is updated with a warning)."""
    mods = given()
    if not mods:
        return
    entries = [e for e in manifest.get(MANIFEST_KEY) or [] if isinstance(e, dict)]
    by_path = {e.get("path"): e for e in entries}
    for m in mods:
        e = by_path.get(str(m.path))
        if e is None:
            entries.append(m.record())
        elif e.get("sha256") != m.sha256:
            _warn_once(
                (str(m.path), "record" + m.sha256),
                f"problem module {m.path} has changed since {where} recorded it (sha256 "
                f"{str(e.get('sha256'))[:12]} then, {m.sha256[:12]} now); run.json now "
                f"records the new one",
            )
            e["sha256"] = m.sha256
    manifest[MANIFEST_KEY] = entries


__all__ = [
    "ENV_VAR",
    "OPTION",
    "ProblemModuleError",
    "UserModule",
    "env_files",
    "file_sha256",
    "forget_given",
    "given",
    "load",
    "load_from_argv",
    "check_recorded",
    "missing_note",
    "split_argv",
    "update_record",
]
