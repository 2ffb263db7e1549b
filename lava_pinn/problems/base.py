"""The declarative description of a PINN problem: domain, PDE residual, conditions, reference.

A :class:`Problem` subclass states, as class attributes, its ``name``, input and output names and
its parameters (:class:`Param`: default, allowed range, meaning). An instance holds validated
parameter values and answers everything training and evaluation need:

- ``domain``: the box the inputs live in, with a seeded sampler (:class:`Box`);
- ``residual(x, u)``: the PDE residuals ``{equation name: tensor (n,)}`` computed with torch
  autograd from inputs ``x`` (``requires_grad``) and network outputs ``u = N(x)``;
- ``conditions(n, generator)``: boundary / initial / data conditions as points plus targets;
- ``exact(x)`` where an analytic solution exists and ``reference()`` (an evaluation grid with
  reference values, exact or computed);
- an optional hard-constraint transform ``u = g(x) + d(x) * N(x)`` (``g`` meets the boundary and
  initial conditions, ``d`` vanishes where they are imposed);
- its default architecture and training hyper-parameters.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar

import torch

from lava_pinn.models import MLPConfig, ModelConfig, SPINNConfig

Tensor = torch.Tensor


@dataclass(frozen=True)
class Param:
    """One problem parameter: default value, closed range ``[low, high]`` and its meaning."""

    name: str
    default: float
    low: float = -math.inf
    high: float = math.inf
    doc: str = ""

    def check(self, value: object, owner: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"{owner} parameter {self.name!r} must be a number, got {value!r}")
        v = float(value)
        if not math.isfinite(v) or not (self.low <= v <= self.high):
            raise ValueError(
                f"{owner} parameter {self.name!r}={value!r} is out of range "
                f"[{self.low}, {self.high}] ({self.doc or 'see the problem docstring'})"
            )
        return v


@dataclass(frozen=True)
class Box:
    """An axis-aligned box ``[low_i, high_i]`` per input, with seeded samplers (float64 points)."""

    low: tuple[float, ...]
    high: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.low) != len(self.high) or not self.low:
            raise ValueError(f"Box needs matching non-empty low/high, got {self.low}, {self.high}")
        for lo, hi in zip(self.low, self.high, strict=True):
            if not lo < hi:
                raise ValueError(f"Box needs low < high on every axis, got [{lo}, {hi}]")

    @property
    def dim(self) -> int:
        return len(self.low)

    def _scale(self, unit: Tensor) -> Tensor:
        lo = torch.tensor(self.low, dtype=torch.float64)
        hi = torch.tensor(self.high, dtype=torch.float64)
        return lo + (hi - lo) * unit

    def sample(self, n: int, generator: torch.Generator) -> Tensor:
        """``n`` points uniform in the box: shape ``(n, dim)``, float64."""
        return self._scale(torch.rand(n, self.dim, generator=generator, dtype=torch.float64))

    def sample_face(self, n: int, axis: int, side: int, generator: torch.Generator) -> Tensor:
        """``n`` points uniform on the face ``x[axis] = low`` (side 0) or ``high`` (side 1)."""
        pts = self.sample(n, generator)
        pts[:, axis] = self.low[axis] if side == 0 else self.high[axis]
        return pts

    def sample_boundary(self, n: int, axes: tuple[int, ...], generator: torch.Generator) -> Tensor:
        """``n`` points spread evenly over both faces of each axis in ``axes``."""
        faces = [(a, s) for a in axes for s in (0, 1)]
        counts = [n // len(faces) + (1 if i < n % len(faces) else 0) for i in range(len(faces))]
        parts = [
            self.sample_face(c, a, s, generator) for (a, s), c in zip(faces, counts, strict=True)
        ]
        return torch.cat(parts)

    def corners(self) -> Tensor:
        """The ``2**dim`` corners of the box: shape ``(2**dim, dim)``, float64."""
        pairs = zip(self.low, self.high, strict=True)
        grid = torch.cartesian_prod(*[torch.tensor(p, dtype=torch.float64) for p in pairs])
        return grid.reshape(-1, self.dim)

    def linspace(self, counts: tuple[int, ...]) -> list[Tensor]:
        """Evenly spaced float64 coordinates per axis (endpoints included)."""
        return [
            torch.linspace(lo, hi, c, dtype=torch.float64)
            for lo, hi, c in zip(self.low, self.high, counts, strict=True)
        ]


@dataclass(frozen=True)
class Condition:
    """A soft condition: ``mean((N(x)[:, fields] - target)^2)`` enters the loss.

    ``kind`` is ``"bc"``, ``"ic"`` or ``"data"``; it selects the loss weight. ``hard`` marks
    conditions that the problem's hard-constraint transform satisfies exactly (skipped then).
    """

    name: str
    kind: str
    points: Tensor
    targets: Tensor
    fields: tuple[int, ...]
    hard: bool = False

    def __post_init__(self) -> None:
        if self.kind not in ("bc", "ic", "data"):
            raise ValueError(f"Condition.kind must be 'bc', 'ic' or 'data', got {self.kind!r}")
        if self.points.shape[0] != self.targets.shape[0] or self.targets.ndim != 2:
            raise ValueError(
                f"Condition {self.name!r}: points {tuple(self.points.shape)} and targets "
                f"{tuple(self.targets.shape)} must have the same number of rows (targets 2-D)"
            )
        if self.targets.shape[1] != len(self.fields):
            raise ValueError(
                f"Condition {self.name!r}: targets have {self.targets.shape[1]} columns for "
                f"{len(self.fields)} fields {self.fields}"
            )

    def to(self, dtype: torch.dtype) -> Condition:
        return Condition(
            self.name,
            self.kind,
            self.points.to(dtype),
            self.targets.to(dtype),
            self.fields,
            self.hard,
        )


@dataclass(frozen=True)
class Reference:
    """Evaluation data: ``points (N, d)``, ``values (N, k)`` (float64) on the tensor grid ``axes``.

    ``points`` is ``meshgrid(*axes, indexing="ij")`` flattened, so a SPINN's ``grid(axes)``
    reshaped to ``(N, k)`` lines up with ``values``.
    """

    points: Tensor
    values: Tensor
    axes: tuple[Tensor, ...] = ()
    source: str = "exact"


def grid_points(axes: list[Tensor] | tuple[Tensor, ...]) -> Tensor:
    """All points of the tensor grid ``axes[0] x axes[1] x ...`` (``ij`` order): ``(N, d)``."""
    mesh = torch.meshgrid(*axes, indexing="ij")
    return torch.stack([m.reshape(-1) for m in mesh], dim=1)


def grad(y: Tensor, x: Tensor) -> Tensor:
    """``dy/dx`` for a per-point scalar ``y (n,)`` of inputs ``x (n, d)``: shape ``(n, d)``.

    Keeps the graph (``create_graph=True``) so the result can be differentiated again and
    trained through.
    """
    (g,) = torch.autograd.grad(y, x, torch.ones_like(y), create_graph=True)
    return g


def laplacian(y: Tensor, x: Tensor, axes: tuple[int, ...], dy: Tensor | None = None) -> Tensor:
    """``sum_i d^2 y / dx_i^2`` over ``axes`` (``dy`` = ``grad(y, x)`` when already computed)."""
    dy = grad(y, x) if dy is None else dy
    return sum(grad(dy[:, i], x)[:, i] for i in axes)


class Problem:
    """Base class of the zoo problems; subclasses fill in the class attributes and methods.

    Subclass attributes: ``name``, ``inputs``, ``outputs``, ``params`` (tuple of :class:`Param`),
    ``description``, ``gauge_fields`` (outputs reported after removing their mean: fields that the
    conditions fix only up to a constant), ``train_defaults`` (keyword overrides of
    :class:`lava_pinn.training.TrainConfig`).
    """

    name: ClassVar[str] = ""
    inputs: ClassVar[tuple[str, ...]] = ()
    outputs: ClassVar[tuple[str, ...]] = ()
    params: ClassVar[tuple[Param, ...]] = ()
    description: ClassVar[str] = ""
    gauge_fields: ClassVar[tuple[str, ...]] = ()
    train_defaults: ClassVar[Mapping[str, object]] = MappingProxyType({})

    def __init__(self, **params: float) -> None:
        specs = {p.name: p for p in self.params}
        unknown = sorted(set(params) - set(specs))
        if unknown:
            raise ValueError(
                f"problem {self.name!r} has no parameter(s) {unknown}; "
                f"its parameters are {sorted(specs) or 'none'}"
            )
        values = {p.name: p.default for p in self.params}
        for key, val in params.items():
            values[key] = specs[key].check(val, f"problem {self.name!r}")
        self.param_values: dict[str, float] = values

    def __getattr__(self, item: str) -> float:
        # parameters read as attributes: problem.nu
        values = self.__dict__.get("param_values", {})
        if item in values:
            return values[item]
        raise AttributeError(f"{type(self).__name__!r} has no attribute {item!r}")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v:g}" for k, v in self.param_values.items())
        return f"{type(self).__name__}({args})"

    # ----------------------------------------------------------------- geometry and sampling
    @property
    def domain(self) -> Box:
        raise NotImplementedError

    @property
    def in_features(self) -> int:
        return len(self.inputs)

    @property
    def out_features(self) -> int:
        return len(self.outputs)

    def sample_collocation(self, n: int, generator: torch.Generator) -> Tensor:
        """Interior points where the PDE residual is minimised (uniform by default), float64."""
        return self.domain.sample(n, generator)

    # ----------------------------------------------------------------- physics
    @property
    def has_pde(self) -> bool:
        return True

    def residual(self, x: Tensor, u: Tensor) -> dict[str, Tensor]:
        """PDE residuals ``{equation: (n,)}`` of outputs ``u (n, k)`` at inputs ``x (n, d)``."""
        raise NotImplementedError

    def conditions(self, n: int, generator: torch.Generator) -> list[Condition]:
        """Boundary / initial / data conditions with about ``n`` points in total (float64)."""
        return []

    # ----------------------------------------------------------------- solutions
    @property
    def has_exact(self) -> bool:
        return type(self).exact is not Problem.exact

    def exact(self, x: Tensor) -> Tensor:
        """The analytic solution ``(n, k)`` at ``x (n, d)``; only where one exists."""
        raise NotImplementedError(f"problem {self.name!r} has no analytic solution")

    def reference_counts(self) -> tuple[int, ...]:
        """Grid points per axis of :meth:`reference`."""
        return tuple(101 if self.in_features <= 2 else 41 for _ in self.inputs)

    def reference(self) -> Reference:
        """Evaluation grid and reference values (the exact solution, unless overridden)."""
        axes = self.domain.linspace(self.reference_counts())
        pts = grid_points(axes)
        return Reference(pts, self.exact(pts).to(torch.float64), tuple(axes), "exact")

    # ----------------------------------------------------------------- hard constraints
    @property
    def has_hard_bc(self) -> bool:
        return type(self).hard_bc_terms is not Problem.hard_bc_terms

    def hard_bc_terms(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(g(x), d(x))`` of shape ``(n, k)`` each, for ``u = g + d * N``."""
        raise NotImplementedError(f"problem {self.name!r} has no hard-constraint transform")

    def apply_hard_bc(self, x: Tensor, n_out: Tensor) -> Tensor:
        """``u = g(x) + d(x) * N(x)``: satisfies the hard conditions for any network output."""
        g, d = self.hard_bc_terms(x)
        return g + d * n_out

    # ----------------------------------------------------------------- defaults
    def default_model(self) -> ModelConfig:
        return MLPConfig(self.in_features, self.out_features, (64, 64, 64, 64), "tanh")

    def default_training(self) -> dict[str, object]:
        return dict(self.train_defaults)

    def describe(self) -> dict[str, object]:
        """A summary row for listings (``lava-pinn problems``)."""
        m = self.default_model()
        return {
            "name": self.name,
            "inputs": list(self.inputs),
            "outputs": list(self.outputs),
            "model": m.describe(),
            "model_kind": m.kind,
            "exact": self.has_exact,
            "hard_bc": self.has_hard_bc,
            "params": dict(self.param_values),
            "description": self.description,
        }


def exact_conditions(
    problem: Problem,
    points: Tensor,
    name: str,
    kind: str,
    fields: tuple[str, ...] | None = None,
    hard: bool = False,
    solution: Callable[[Tensor], Tensor] | None = None,
) -> Condition:
    """A condition whose targets are the exact solution (or ``solution``) at ``points``."""
    fields = tuple(problem.outputs) if fields is None else fields
    idx = tuple(problem.outputs.index(f) for f in fields)
    values = (solution or problem.exact)(points)[:, list(idx)]
    return Condition(name, kind, points, values, idx, hard)


__all__ = [
    "Box",
    "Condition",
    "MLPConfig",
    "Param",
    "Problem",
    "Reference",
    "SPINNConfig",
    "exact_conditions",
    "grad",
    "grid_points",
    "laplacian",
]
