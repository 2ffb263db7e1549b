"""Incompressible Navier-Stokes problems with analytic solutions: Taylor-Green and Kovasznay.

Both use the velocity-pressure form with outputs ``(u, v, p)`` and residuals

    momentum_x = [u_t +] u u_x + v u_y + p_x - nu (u_xx + u_yy),
    momentum_y = [v_t +] u v_x + v v_y + p_y - nu (v_xx + v_yy),
    continuity = u_x + v_y,

(density 1, dimensionless). Boundary (and initial) conditions give ``u``, ``v`` *and* ``p`` from the
exact solution, which fixes the pressure's free constant, so ``p`` is reported without removing
its mean.
"""

from __future__ import annotations

import math
from types import MappingProxyType

import torch

from lava_pinn.models import MLPConfig, ModelConfig
from lava_pinn.problems.base import Box, Condition, Param, Problem, exact_conditions, grad

Tensor = torch.Tensor
PI = math.pi


def ns_residuals(x: Tensor, uvp: Tensor, nu: float, time_axis: int | None) -> dict[str, Tensor]:
    """Momentum-x, momentum-y and continuity residuals of 2-D incompressible Navier-Stokes.

    ``x`` holds ``(x, y[, t])`` (``time_axis`` is the column of ``t`` or ``None`` when steady),
    ``uvp`` the outputs ``(u, v, p)``; ``nu`` is the kinematic viscosity.
    """
    u, v, p = uvp[:, 0], uvp[:, 1], uvp[:, 2]
    du, dv, dp = grad(u, x), grad(v, x), grad(p, x)
    lap_u = grad(du[:, 0], x)[:, 0] + grad(du[:, 1], x)[:, 1]
    lap_v = grad(dv[:, 0], x)[:, 0] + grad(dv[:, 1], x)[:, 1]
    mx = u * du[:, 0] + v * du[:, 1] + dp[:, 0] - nu * lap_u
    my = u * dv[:, 0] + v * dv[:, 1] + dp[:, 1] - nu * lap_v
    if time_axis is not None:
        mx = mx + du[:, time_axis]
        my = my + dv[:, time_axis]
    return {"momentum_x": mx, "momentum_y": my, "continuity": du[:, 0] + dv[:, 1]}


class TaylorGreen(Problem):
    """Unsteady 2-D Taylor-Green vortex, ``(x, y, t) in [-1, 1]^2 x [0, 1]``, ``nu = 1``.

    ``u = -cos x sin y e^{-2 nu t}``, ``v = sin x cos y e^{-2 nu t}``,
    ``p = -(cos 2x + cos 2y) e^{-4 nu t} / 4``: an exact solution of the equations above for any
    ``nu`` (the viscous term cancels ``u_t``, the pressure gradient cancels the advection).
    Conditions: ``(u, v, p)`` at ``t = 0`` and on the four sides of the box. The default network,
    3-64x6-3 tanh, is the published anchor's (ANN rel. L2 u 4.43%, v 4.85%).
    """

    name = "navier-stokes-tg"
    inputs = ("x", "y", "t")
    outputs = ("u", "v", "p")
    params = (Param("nu", 1.0, 1e-3, 10.0, "kinematic viscosity"),)
    description = "2D unsteady NS, Taylor-Green vortex, nu=1, [-1,1]^2 x [0,1]"
    train_defaults = MappingProxyType(
        {
            "adam_steps": 3000,
            "lr": 2e-3,
            "lbfgs_steps": 1000,
            "n_collocation": 3000,
            "n_boundary": 1500,
        }
    )

    @property
    def domain(self) -> Box:
        return Box((-1.0, -1.0, 0.0), (1.0, 1.0, 1.0))

    def residual(self, x: Tensor, u: Tensor) -> dict[str, Tensor]:
        return ns_residuals(x, u, self.nu, time_axis=2)

    def conditions(self, n: int, generator: torch.Generator) -> list[Condition]:
        box = self.domain
        n_ic = n // 3
        return [
            exact_conditions(
                self, box.sample_boundary(n - n_ic, (0, 1), generator), "boundary", "bc"
            ),
            exact_conditions(self, box.sample_face(n_ic, 2, 0, generator), "initial", "ic"),
        ]

    def exact(self, x: Tensor) -> Tensor:
        X, Y, T = x[:, 0], x[:, 1], x[:, 2]
        f = torch.exp(-2 * self.nu * T)
        u = -torch.cos(X) * torch.sin(Y) * f
        v = torch.sin(X) * torch.cos(Y) * f
        p = -(torch.cos(2 * X) + torch.cos(2 * Y)) * f**2 / 4
        return torch.stack([u, v, p], dim=1)

    def reference_counts(self) -> tuple[int, ...]:
        return (41, 41, 21)

    def default_model(self) -> ModelConfig:
        return MLPConfig(3, 3, (64,) * 6, "tanh")


class Kovasznay(Problem):
    """Steady Kovasznay flow, ``Re = 20``, on ``[-0.5, 1] x [-0.5, 1.5]``, ``nu = 1/Re``.

    With ``lambda = Re/2 - sqrt(Re^2/4 + 4 pi^2)``:
    ``u = 1 - e^{lambda x} cos(2 pi y)``, ``v = lambda/(2 pi) e^{lambda x} sin(2 pi y)``,
    ``p = (1 - e^{2 lambda x}) / 2``. Conditions: ``(u, v, p)`` on the four sides.
    """

    name = "kovasznay"
    inputs = ("x", "y")
    outputs = ("u", "v", "p")
    params = (Param("Re", 20.0, 1.0, 100.0, "Reynolds number"),)
    description = "steady 2D NS, Kovasznay flow, Re=20, [-0.5,1] x [-0.5,1.5]"
    train_defaults = MappingProxyType(
        {
            "adam_steps": 3000,
            "lr": 2e-3,
            "lbfgs_steps": 1000,
            "n_collocation": 2500,
            "n_boundary": 800,
            "bc_weight": 10.0,
        }
    )

    @property
    def domain(self) -> Box:
        return Box((-0.5, -0.5), (1.0, 1.5))

    @property
    def lam(self) -> float:
        re = self.Re
        return re / 2 - math.sqrt(re**2 / 4 + 4 * PI**2)

    def residual(self, x: Tensor, u: Tensor) -> dict[str, Tensor]:
        return ns_residuals(x, u, 1.0 / self.Re, time_axis=None)

    def conditions(self, n: int, generator: torch.Generator) -> list[Condition]:
        pts = self.domain.sample_boundary(n, (0, 1), generator)
        return [exact_conditions(self, pts, "boundary", "bc")]

    def exact(self, x: Tensor) -> Tensor:
        lam = self.lam
        e = torch.exp(lam * x[:, 0])
        u = 1 - e * torch.cos(2 * PI * x[:, 1])
        v = lam / (2 * PI) * e * torch.sin(2 * PI * x[:, 1])
        p = (1 - e**2) / 2
        return torch.stack([u, v, p], dim=1)

    def default_model(self) -> ModelConfig:
        return MLPConfig(2, 3, (50, 50, 50, 50), "tanh")
