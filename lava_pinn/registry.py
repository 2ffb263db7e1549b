"""One registry per axis: activations, neuron models, problems, backends, energy profiles.

Each axis is a :class:`Registry` that maps a lower-case name to an object. Registering a name twice
is an error. A failed lookup, here or anywhere a name is chosen from a fixed set, raises
:class:`UnknownNameError` built by :func:`unknown_name`: it lists what is available and suggests
the closest name.
"""

from __future__ import annotations

import difflib
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class UnknownNameError(KeyError, ValueError):
    """A registry lookup of a name that is not registered. It is a ``ValueError`` (a bad
    argument value) and, for older callers, a ``KeyError``; its text is the plain message."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def did_you_mean(names: Iterable[object], choices: Iterable[str]) -> str:
    """`` (did you mean 'lava_points'?)`` for the first of ``names`` close to one of
    ``choices`` (:func:`difflib.get_close_matches`), else ``""``: for misspelt keys and flags."""
    choices = list(choices)
    for name in names:
        if isinstance(name, str):
            close = difflib.get_close_matches(name.strip().lower(), choices, n=1)
            if close:
                return f" (did you mean {close[0]!r}?)"
    return ""


def unknown_name(
    kind: str, name: object, choices: Iterable[str], note: str = ""
) -> UnknownNameError:
    """The error for a lookup of ``name`` among ``choices`` that fails:
    ``unknown {kind} {name!r} (did you mean ...?); available: a, b, c{note}``, the choices in
    the order given. The suggestion
    (:func:`difflib.get_close_matches`) appears when a choice is close to ``name``."""
    choices = list(choices)
    hint = did_you_mean([name], choices)
    return UnknownNameError(
        f"unknown {kind} {name!r}{hint}; available: {', '.join(choices) or 'none'}{note}"
    )


_ALL: weakref.WeakSet[Registry] = weakref.WeakSet()


class Registry(Generic[T]):
    """A named collection of objects of one kind (``kind`` appears in error messages)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        _ALL.add(self)

    @staticmethod
    def instances() -> list[Registry]:
        """Every registry alive (user files loaded by the CLI are checked against them: a file
        that adds to none registered nothing)."""
        return list(_ALL)

    def _key(self, name: str) -> str:
        if not isinstance(name, str) or not name.strip():
            raise TypeError(
                f"a {self.kind} name must be a non-empty string, got {name!r}; available: "
                f"{', '.join(self.available())}"
            )
        return name.strip().lower()

    def register(self, name: str, obj: T | None = None, *, replace: bool = False):
        """Register ``obj`` under ``name``; usable as a decorator when ``obj`` is omitted.

        Raises ``ValueError`` if the name is taken, unless ``replace=True``.
        """

        def _add(o: T) -> T:
            key = self._key(name)
            if key in self._items and not replace:
                raise ValueError(
                    f"{self.kind} {key!r} is already registered; pick another name "
                    f"or pass replace=True"
                )
            self._items[key] = o
            return o

        if obj is None:
            return _add
        return _add(obj)

    def get(self, name: str) -> T:
        """Return the object registered as ``name``; :class:`UnknownNameError` (a ``ValueError``
        and ``KeyError``) lists the choices."""
        return self._items[self.canonical(name)]

    def canonical(self, name: str) -> str:
        """The registered spelling of ``name`` (stripped, lower case); :class:`UnknownNameError`
        listing the choices if there is none."""
        key = self._key(name)
        if key not in self._items:
            raise unknown_name(self.kind, name, self.available())
        return key

    def available(self) -> list[str]:
        return sorted(self._items)

    def unregister(self, name: str) -> T:
        """Remove ``name`` (a plugin's entry, e.g. at the end of a test); returns its object."""
        return self._items.pop(self.canonical(name))

    def resolve_options(self, name: str, given: dict[str, object]) -> dict[str, object]:
        """The options entry ``name`` reads (its ``options``: ``((option, default), ...)``),
        from ``given`` (``None`` = not given) or its defaults. An option ``given`` that only
        other entries read is a ``ValueError`` naming them: this entry would ignore it."""
        own = dict(getattr(self.get(name), "options", ()))
        foreign = [k for k, v in given.items() if v is not None and k not in own]
        if foreign:
            takers = [
                n
                for n, e in self.items()
                if any(k in dict(getattr(e, "options", ())) for k in foreign)
            ]
            it = "it" if len(foreign) == 1 else "them"
            raise ValueError(
                f"{', '.join(f'{k}={given[k]!r}' for k in foreign)}: {self.kind} "
                f"{self.canonical(name)!r} does not use {it} (only "
                f"{' or '.join(repr(t) for t in takers) or 'no other'} "
                f"{'does' if len(takers) == 1 else 'do'}); drop {it} or choose "
                f"{'that' if len(takers) == 1 else 'such a'} {self.kind}"
            )
        return {k: (given[k] if given.get(k) is not None else d) for k, d in own.items()}

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.strip().lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.available())

    def __len__(self) -> int:
        return len(self._items)

    def items(self) -> list[tuple[str, T]]:
        return [(k, self._items[k]) for k in self.available()]


def lazy(factory: Callable[[], T]) -> Callable[[], T]:
    """Memoise a zero-argument factory (for registries filled on first use, not at import)."""
    cache: list[T] = []

    def get() -> T:
        if not cache:
            cache.append(factory())
        return cache[0]

    return get
