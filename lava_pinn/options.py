"""Declarative options: a frozen dataclass per stage gives the flags, TOML keys and defaults.

Each field is made with :func:`option`, which stores its help text (``{choices}`` is replaced
by the names a registry offers), the command-line flag (default ``--name-with-dashes``), the
argparse ``type``, whether the flag is repeatable (``repeat=True``: each use adds one value to
a tuple field) and whether it is on the command line at all. Then:

* :func:`add_arguments` adds one flag per field to an argparse parser, the default taken from
  the field (and shown in the help, never written twice);
* :func:`from_args` collects the flags a user gave;
* :func:`check_keys` refuses unknown keys of a TOML table, naming the known ones;
* :func:`defaults` is the field defaults as a dict (what the Python API uses).

    @dataclass(frozen=True)
    class ExportOptions:
        seed: int = option(1, "seed of the scoring points")

    add_arguments(parser, ExportOptions)          # --seed SEED (default 1)
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any

_KEY = "lava_pinn.option"


@dataclasses.dataclass(frozen=True)
class OptionInfo:
    """What :func:`option` records about one field."""

    help: str
    flag: str | None = None  # None: "--" + the field name with dashes
    type: Callable[[str], Any] | None = None  # argparse type; None: str; bool fields are switches
    cli: bool = True  # False: Python API and TOML only
    choices: Callable[[], Iterable[str]] | None = None  # fills "{choices}" in help
    dest: str | None = None  # argparse dest when it differs from the field name
    repeat: bool = False  # the flag may be given several times; the values form a tuple
    metavar: str | None = None  # argparse metavar


def option(
    default: Any,
    help: str,
    *,
    flag: str | None = None,
    type: Callable[[str], Any] | None = None,
    cli: bool = True,
    choices: Callable[[], Iterable[str]] | None = None,
    repeat: bool = False,
    metavar: str | None = None,
) -> Any:
    """A dataclass field with its default and :class:`OptionInfo` in the field metadata."""
    info = OptionInfo(help, flag, type, cli, choices, repeat=repeat, metavar=metavar)
    return dataclasses.field(default=default, metadata={_KEY: info})


def info(f: dataclasses.Field) -> OptionInfo | None:
    """The :class:`OptionInfo` of a field made with :func:`option` (``None`` otherwise)."""
    return f.metadata.get(_KEY)


def options_of(cls: type) -> list[dataclasses.Field]:
    """The fields of ``cls`` made with :func:`option`, in declaration order."""
    return [f for f in dataclasses.fields(cls) if info(f) is not None]


def defaults(cls: type) -> dict[str, Any]:
    """``{name: default}`` of every option of ``cls``."""
    return {f.name: f.default for f in options_of(cls)}


def flag_of(f: dataclasses.Field) -> str:
    """The command-line flag of a field (``--calibration-points`` for ``calibration_points``)."""
    i = info(f)
    return (i.flag if i and i.flag else None) or "--" + f.name.replace("_", "-")


def help_of(f: dataclasses.Field) -> str:
    """The help text with ``{choices}`` filled in and the default appended when it is set."""
    i = info(f)
    text = i.help
    if i.choices is not None:
        text = text.replace("{choices}", ", ".join(i.choices()))
    if isinstance(f.default, (tuple, list)):
        text += f" (default {', '.join(str(v) for v in f.default)})"
    elif f.default is not None and not isinstance(f.default, bool):
        text += f" (default {f.default})"
    return text.replace("%", "%%")


def add_arguments(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    cls: type,
    *,
    defaults: bool = True,
    only: Iterable[str] | None = None,
    skip: Iterable[str] = (),
) -> None:
    """One flag per command-line option of ``cls`` (``only``: just these names; ``skip``: not
    these). ``defaults=False`` leaves every flag ``None`` so that a config file can fill what
    the command line does not give; switches (bool fields) are then ``None`` unless given."""
    wanted = None if only is None else set(only)
    for f in options_of(cls):
        i = info(f)
        if not i.cli or f.name in set(skip) or (wanted is not None and f.name not in wanted):
            continue
        kw: dict[str, Any] = {"dest": f.name, "help": help_of(f)}
        if i.metavar is not None:
            kw["metavar"] = i.metavar
        if i.repeat:
            # None unless given (argparse would append to a default): the field default holds
            kw.update(action="append", type=i.type or str, default=None)
        elif "bool" in str(f.type) or isinstance(f.default, bool):
            # a switch: None unless given, so the dataclass default (or a config file) holds
            off = flag_of(f).startswith("--no-")
            kw.update(action="store_const", const=not off, default=None)
        else:
            kw.update(type=i.type or str, default=f.default if defaults else None)
        parser.add_argument(flag_of(f), **kw)


def from_args(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    """The options of ``cls`` present (not ``None``) in parsed ``args`` (repeated flags as a
    tuple)."""
    out = {}
    for f in options_of(cls):
        v = getattr(args, f.name, None)
        if v is not None:
            out[f.name] = tuple(v) if info(f).repeat else v
    return out


def check_keys(cls: type, data: Mapping[str, Any], where: str) -> None:
    """``ValueError`` naming the keys of ``data`` that are not options of ``cls``."""
    known = {f.name for f in dataclasses.fields(cls)}
    bad = sorted(set(data) - known)
    if bad:
        from lava_pinn.registry import did_you_mean

        raise ValueError(
            f"{where}: unknown option(s) {', '.join(bad)}{did_you_mean(bad, known)}; known: "
            f"{', '.join(sorted(known))}"
        )


def deprecated_alias(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    old: str,
    new: str,
    dest: str,
    *,
    type: Callable[[str], Any] | None = None,
    append: bool = False,
) -> None:
    """Keep the former spelling ``old`` of the flag ``new`` working: hidden from the help, it
    stores into ``dest`` as ``new`` does (``append``: extends a repeated flag's list with the
    value, or with each value of a list ``type`` returns) and warns (``FutureWarning``)."""

    class _Alias(argparse.Action):
        def __call__(self, p, namespace, values, option_string=None):
            import warnings

            warnings.warn(
                f"{old} is deprecated and will be removed; use {new}", FutureWarning, stacklevel=2
            )
            if append:
                items = list(getattr(namespace, dest, None) or [])
                items += list(values) if isinstance(values, list) else [values]
                values = items
            setattr(namespace, dest, values)

    parser.add_argument(old, dest=dest, type=type, action=_Alias, help=argparse.SUPPRESS)


def positive_int(text: str) -> int:
    """argparse ``type=`` for integers > 0 (the error names the bad text)."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def positive_float(text: str) -> float:
    """argparse ``type=`` for numbers > 0."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return v


__all__ = [
    "OptionInfo",
    "add_arguments",
    "check_keys",
    "defaults",
    "deprecated_alias",
    "flag_of",
    "from_args",
    "help_of",
    "info",
    "option",
    "options_of",
    "positive_float",
    "positive_int",
]
