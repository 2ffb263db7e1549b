"""Small zoo problems with analytic solutions: regression, Poisson, diffusion-reaction, heat."""

from __future__ import annotations

import math
from types import MappingProxyType

import torch

from lava_pinn.models import MLPConfig, ModelConfig, SPINNConfig
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

Tensor = torch.Tensor
PI = math.pi


class Regression1D(Problem):
    """Function regression ``u(x) = x^2`` on ``[-1, 1]`` from 100 evenly spaced samples.

    No PDE: the loss is the data misfit only. The architecture ``1-64x4-1 tanh`` is the one of the
    published conversion anchor (ANN rel. L2 0.39%), kept fixed for comparability.
    """

    name = "regression-1d"
    inputs = ("x",)
    outputs = ("u",)
    params = (Param("n_points", 100, 2, 100000, "number of training samples"),)
    description = "u(x) = x^2 on [-1,1], 100 samples, data loss only"
    train_defaults = MappingProxyType(
        {"adam_steps": 3000, "lr": 2e-3, "lbfgs_steps": 500, "n_collocation": 1, "n_boundary": 1}
    )

    @property
    def domain(self) -> Box:
        return Box((-1.0,), (1.0,))

    @property
    def has_pde(self) -> bool:
        return False

    def residual(self, x: Tensor, u: Tensor) -> dict[str, Tensor]:
        return {}

    def conditions(self, n: int, generator: torch.Generator) -> list[Condition]:
        x = torch.linspace(-1.0, 1.0, int(self.n_points), dtype=torch.float64).reshape(-1, 1)
        return [exact_conditions(self, x, "data", "data")]

    def exact(self, x: Tensor) -> Tensor:
        return x[:, :1] ** 2

    def reference_counts(self) -> tuple[int, ...]:
        return (1001,)

    def default_model(self) -> ModelConfig:
        return MLPConfig(1, 1, (64, 64, 64, 64), "tanh")


class Poisson2D(Problem):
    """Poisson ``-(u_xx + u_yy) = 2 pi^2 sin(pi x) sin(pi y)`` on ``[-1, 1]^2``, ``u = 0`` on edges.

    Manufactured solution ``u = sin(pi x) sin(pi y)`` (dimensionless).
    Hard constraint: ``u = (1 - x^2)(1 - y^2) N(x, y)``.
    """

    name = "poisson-2d"
    inputs = ("x", "y")
    outputs = ("u",)
    description = "-lap u = 2 pi^2 sin(pi x) sin(pi y) on [-1,1]^2, u=0 on the boundary"
    train_defaults = MappingProxyType(
        {
            "adam_steps": 3000,
            "lr": 2e-3,
            "lbfgs_steps": 1000,
            "n_collocation": 2000,
            "n_boundary": 400,
            "bc_weight": 10.0,
        }
    )

    @property
    def domain(self) -> Box:
        return Box((-1.0, -1.0), (1.0, 1.0))

    def residual(self, x: Tensor, u: Tensor) -> dict[str, Tensor]:
        f = 2 * PI**2 * torch.sin(PI * x[:, 0]) * torch.sin(PI * x[:, 1])
        return {"poisson": laplacian(u[:, 0], x, (0, 1)) + f}

    def conditions(self, n: int, generator: torch.Generator) -> list[Condition]:
        pts = self.domain.sample_boundary(n, (0, 1), generator)
        return [exact_conditions(self, pts, "boundary", "bc", hard=True)]

    def exact(self, x: Tensor) -> Tensor:
        return (torch.sin(PI * x[:, 0]) * torch.sin(PI * x[:, 1])).reshape(-1, 1)

    def hard_bc_terms(self, x: Tensor) -> tuple[Tensor, Tensor]:
        d = ((1 - x[:, 0] ** 2) * (1 - x[:, 1] ** 2)).reshape(-1, 1)
        return torch.zeros_like(d), d

    def default_model(self) -> ModelConfig:
        return MLPConfig(2, 1, (32, 32, 32), "tanh")


class DiffusionReaction(Problem):
    """Diffusion-reaction ``u_t = D u_xx - k u + f(x, t)``, ``x in [-1, 1]``, ``t in [0, 1]``.

    Manufactured solution ``u = e^{-t} (sin(pi x) + sin(2 pi x) / 2)``, so
    ``f = e^{-t} [(k - 1 + D pi^2) sin(pi x) + (k - 1 + 4 D pi^2) sin(2 pi x) / 2]``;
    ``u(+-1, t) = 0`` and ``u(x, 0) = sin(pi x) + sin(2 pi x) / 2``.
    Defaults ``D = 0.1``, ``k = 1``.
    Hard constraint: ``u = u(x, 0) + t (1 - x^2) N(x, t)``.
    """

    name = "diffusion-reaction"
    inputs = ("x", "t")
    outputs = ("u",)
    params = (
        Param("D", 0.1, 1e-6, 10.0, "diffusivity"),
        Param("k", 1.0, 0.0, 100.0, "linear reaction rate"),
    )
    description = "u_t = D u_xx - k u + f, u = e^-t (sin pi x + sin(2 pi x)/2)"
    train_defaults = MappingProxyType(
        {
            "adam_steps": 2000,
            "lr": 2e-3,
            "lbfgs_steps": 500,
            "n_collocation": 2000,
            "n_boundary": 400,
        }
    )

    @property
    def domain(self) -> Box:
        return Box((-1.0, 0.0), (1.0, 1.0))

    def _source(self, x: Tensor) -> Tensor:
        D, k = self.D, self.k
        e = torch.exp(-x[:, 1])
        s1, s2 = torch.sin(PI * x[:, 0]), torch.sin(2 * PI * x[:, 0])
        return e * ((k - 1 + D * PI**2) * s1 + (k - 1 + 4 * D * PI**2) * s2 / 2)

    def residual(self, x: Tensor, u: Tensor) -> dict[str, Tensor]:
        du = grad(u[:, 0], x)
        u_xx = grad(du[:, 0], x)[:, 0]
        return {"diffusion": du[:, 1] - self.D * u_xx + self.k * u[:, 0] - self._source(x)}

    def conditions(self, n: int, generator: torch.Generator) -> list[Condition]:
        box = self.domain
        return [
            exact_conditions(
                self, box.sample_boundary(n // 2, (0,), generator), "boundary", "bc", hard=True
            ),
            exact_conditions(
                self, box.sample_face(n - n // 2, 1, 0, generator), "initial", "ic", hard=True
            ),
        ]

    def exact(self, x: Tensor) -> Tensor:
        s = torch.sin(PI * x[:, 0]) + torch.sin(2 * PI * x[:, 0]) / 2
        return (torch.exp(-x[:, 1]) * s).reshape(-1, 1)

    def hard_bc_terms(self, x: Tensor) -> tuple[Tensor, Tensor]:
        g = (torch.sin(PI * x[:, 0]) + torch.sin(2 * PI * x[:, 0]) / 2).reshape(-1, 1)
        d = (x[:, 1] * (1 - x[:, 0] ** 2)).reshape(-1, 1)
        return g, d

    def default_model(self) -> ModelConfig:
        return MLPConfig(2, 1, (32, 32, 32), "tanh")


class HeatSeparable(Problem):
    """(2+1)-D heat equation ``u_t = alpha (u_xx + u_yy)`` on ``[0, 1]^2 x [0, 1]``, for SPINNs.

    Product solution ``u = e^{-2 alpha pi^2 t} sin(pi x) sin(pi y)``; ``u = 0`` on the edges,
    ``u(x, y, 0) = sin(pi x) sin(pi y)``. Default ``alpha = 0.05`` (``u`` decays by ``e^{-0.99}``).
    The default model is a SPINN (one MLP per axis, rank 16); evaluation uses ``SPINN.grid``.
    """

    name = "heat-2d-separable"
    inputs = ("x", "y", "t")
    outputs = ("u",)
    params = (Param("alpha", 0.05, 1e-6, 10.0, "diffusivity"),)
    description = "u_t = alpha lap u, u = exp(-2 alpha pi^2 t) sin(pi x) sin(pi y); SPINN"
    train_defaults = MappingProxyType(
        {
            "adam_steps": 2000,
            "lr": 2e-3,
            "lbfgs_steps": 300,
            "n_collocation": 3000,
            "n_boundary": 900,
        }
    )

    @property
    def domain(self) -> Box:
        return Box((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))

    def residual(self, x: Tensor, u: Tensor) -> dict[str, Tensor]:
        du = grad(u[:, 0], x)
        lap = grad(du[:, 0], x)[:, 0] + grad(du[:, 1], x)[:, 1]
        return {"heat": du[:, 2] - self.alpha * lap}

    def conditions(self, n: int, generator: torch.Generator) -> list[Condition]:
        box = self.domain
        return [
            exact_conditions(
                self,
                box.sample_boundary(n * 2 // 3, (0, 1), generator),
                "boundary",
                "bc",
                hard=True,
            ),
            exact_conditions(
                self, box.sample_face(n - n * 2 // 3, 2, 0, generator), "initial", "ic", hard=True
            ),
        ]

    def exact(self, x: Tensor) -> Tensor:
        decay = torch.exp(-2 * self.alpha * PI**2 * x[:, 2])
        return (decay * torch.sin(PI * x[:, 0]) * torch.sin(PI * x[:, 1])).reshape(-1, 1)

    def hard_bc_terms(self, x: Tensor) -> tuple[Tensor, Tensor]:
        sx, sy = torch.sin(PI * x[:, 0]), torch.sin(PI * x[:, 1])
        g = (sx * sy).reshape(-1, 1)
        d = (x[:, 2] * x[:, 0] * (1 - x[:, 0]) * x[:, 1] * (1 - x[:, 1])).reshape(-1, 1)
        return g, d

    def reference(self) -> Reference:
        axes = self.domain.linspace((41, 41, 41))
        pts = grid_points(axes)
        return Reference(pts, self.exact(pts), tuple(axes), "exact")

    def default_model(self) -> ModelConfig:
        return SPINNConfig(axes=3, out_features=1, widths=(32, 32, 32), rank=16, activation="tanh")
