"""The PINN problem zoo: problems looked up by name from one registry.

>>> from lava_pinn.problems import get_problem, available
>>> p = get_problem("burgers-1d")            # default parameters
>>> p = get_problem("kovasznay", Re=40)      # validated parameters

Register your own :class:`Problem` subclass with :func:`register_problem` (usable as a decorator).
"""

from __future__ import annotations

from lava_pinn.problems.base import (
    Box,
    Condition,
    Param,
    Problem,
    Reference,
    exact_conditions,
    grad,
    grid_points,
    laplacian,
)
from lava_pinn.problems.basic import DiffusionReaction, HeatSeparable, Poisson2D, Regression1D
from lava_pinn.problems.burgers import Burgers1D, burgers_cole_hopf
from lava_pinn.problems.navier_stokes import Kovasznay, TaylorGreen, ns_residuals
from lava_pinn.registry import Registry

PROBLEMS: Registry[type[Problem]] = Registry("problem")


def register_problem(cls: type[Problem] | None = None, *, replace: bool = False):
    """Register a :class:`Problem` subclass under its ``name`` (decorator or plain call)."""

    def _add(c: type[Problem]) -> type[Problem]:
        if not (isinstance(c, type) and issubclass(c, Problem)):
            raise TypeError(f"register_problem needs a Problem subclass, got {c!r}")
        if not c.name or not c.inputs or not c.outputs:
            raise ValueError(
                f"problem class {c.__name__} must set name, inputs and outputs "
                f"(got {c.name!r}, {c.inputs!r}, {c.outputs!r})"
            )
        PROBLEMS.register(c.name, c, replace=replace)
        return c

    return _add if cls is None else _add(cls)


for _cls in (
    Regression1D,
    Poisson2D,
    DiffusionReaction,
    Burgers1D,
    TaylorGreen,
    Kovasznay,
    HeatSeparable,
):
    register_problem(_cls)
del _cls


def get_problem(name: str, **params: float) -> Problem:
    """An instance of the problem registered as ``name`` (``KeyError`` lists the available ones)."""
    return PROBLEMS.get(name)(**params)


def available() -> list[str]:
    return PROBLEMS.available()


# The built-in zoo, in the order the results tables list it (the anchors first).
ZOO: tuple[str, ...] = (
    "regression-1d",
    "navier-stokes-tg",
    "poisson-2d",
    "diffusion-reaction",
    "kovasznay",
    "heat-2d-separable",
    "burgers-1d",
)

__all__ = [
    "ZOO",
    "PROBLEMS",
    "Box",
    "Burgers1D",
    "Condition",
    "DiffusionReaction",
    "HeatSeparable",
    "Kovasznay",
    "Param",
    "Poisson2D",
    "Problem",
    "Reference",
    "Regression1D",
    "TaylorGreen",
    "available",
    "burgers_cole_hopf",
    "exact_conditions",
    "get_problem",
    "grad",
    "grid_points",
    "laplacian",
    "ns_residuals",
    "register_problem",
]
