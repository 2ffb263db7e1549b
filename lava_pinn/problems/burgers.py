"""Viscous Burgers' equation with a shock, and its reference solution by the Cole-Hopf transform."""

from __future__ import annotations

import math
from types import MappingProxyType

import numpy as np
import torch

from lava_pinn.models import MLPConfig, ModelConfig
from lava_pinn.problems.base import (
    Box,
    Condition,
    Param,
    Problem,
    Reference,
    exact_conditions,
    grad,
    grid_points,
)

Tensor = torch.Tensor
PI = math.pi


def burgers_cole_hopf(
    x: np.ndarray, t: np.ndarray, nu: float = 0.01 / PI, n_quad: int = 200
) -> np.ndarray:
    """Solution of ``u_t + u u_x = nu u_xx``, ``u(x, 0) = -sin(pi x)``, ``u(+-1, t) = 0``.

    Cole-Hopf: ``u = -2 nu phi_x / phi`` with ``phi`` solving the heat equation, which gives

        u(x, t) = - int sin(pi (x - eta)) f(x - eta) G(eta) d eta / int f(x - eta) G(eta) d eta,
        f(y) = exp(-cos(pi y) / (2 pi nu)),  G(eta) = exp(-eta^2 / (4 nu t)).

    With ``eta = sqrt(4 nu t) z`` both integrals are Gauss-Hermite integrals in ``z`` (``n_quad``
    nodes, 10..300; log-sum-exp keeps ``f``'s huge range, ``exp(+-50)`` for the default ``nu``,
    finite).
    ``x`` and ``t`` are broadcast against each other; ``t = 0`` returns the initial condition.
    Pure numpy, float64; takes about a second for a 256 x 100 grid.
    """
    if isinstance(n_quad, bool) or not isinstance(n_quad, int) or not 10 <= n_quad <= 300:
        raise ValueError(
            f"n_quad={n_quad!r}: use an int in [10, 300] (numpy's Gauss-Hermite nodes overflow "
            f"beyond ~350; 100 already matches Raissi's data to 1e-11)"
        )
    if not nu > 0:
        raise ValueError(f"nu={nu!r}: the viscosity must be positive")
    x, t = np.broadcast_arrays(np.asarray(x, np.float64), np.asarray(t, np.float64))
    out = np.empty(x.shape, dtype=np.float64)
    xf, tf, of = x.reshape(-1), t.reshape(-1), out.reshape(-1)
    z, w = np.polynomial.hermite.hermgauss(n_quad)
    logw = np.log(w)
    chunk = 4096
    for s in range(0, xf.size, chunk):
        xs, ts = xf[s : s + chunk, None], tf[s : s + chunk, None]
        y = xs - np.sqrt(4 * nu * np.maximum(ts, 0.0)) * z[None, :]
        a = -np.cos(PI * y) / (2 * PI * nu) + logw[None, :]
        a -= a.max(axis=1, keepdims=True)
        e = np.exp(a)
        res = -(np.sin(PI * y) * e).sum(axis=1) / e.sum(axis=1)
        at0 = ts[:, 0] <= 0
        res[at0] = -np.sin(PI * xs[at0, 0])
        of[s : s + chunk] = res
    return out


class Burgers1D(Problem):
    """``u_t + u u_x = nu u_xx``, ``x in [-1, 1]``, ``t in [0, 1]``, ``nu = 0.01/pi`` by default.

    ``u(x, 0) = -sin(pi x)``, ``u(t, -1) = u(t, 1) = 0``. A shock forms at ``x = 0`` near
    ``t = 0.4``. Reference: :func:`burgers_cole_hopf` on Raissi's grid (256 ``x`` points in
    ``[-1, 1]``, 100 ``t`` points in ``[0, 0.99]``), computed on demand, never cached on disk.
    Collocation: half uniform, half in the band ``|x| < 0.1`` where the shock sits.
    Hard constraint: ``u = -sin(pi x) + t (1 - x^2) N(x, t)``.
    """

    name = "burgers-1d"
    inputs = ("x", "t")
    outputs = ("u",)
    params = (Param("nu", 0.01 / PI, 1e-4, 1.0, "kinematic viscosity"),)
    description = "u_t + u u_x = (0.01/pi) u_xx, u(0,x) = -sin(pi x), shock at x=0"
    train_defaults = MappingProxyType(
        {
            "adam_steps": 4000,
            "lr": 2e-3,
            "lbfgs_steps": 2000,
            "n_collocation": 8000,
            "n_boundary": 600,
        }
    )

    @property
    def domain(self) -> Box:
        return Box((-1.0, 0.0), (1.0, 1.0))

    def sample_collocation(self, n: int, generator: torch.Generator) -> Tensor:
        uniform = self.domain.sample(n - n // 2, generator)
        band = Box((-0.1, 0.0), (0.1, 1.0)).sample(n // 2, generator)
        return torch.cat([uniform, band])

    def residual(self, x: Tensor, u: Tensor) -> dict[str, Tensor]:
        du = grad(u[:, 0], x)
        u_xx = grad(du[:, 0], x)[:, 0]
        return {"burgers": du[:, 1] + u[:, 0] * du[:, 0] - self.nu * u_xx}

    def _initial(self, x: Tensor) -> Tensor:
        return (-torch.sin(PI * x[:, 0])).reshape(-1, 1)

    def conditions(self, n: int, generator: torch.Generator) -> list[Condition]:
        box = self.domain
        zero = lambda p: torch.zeros(p.shape[0], 1, dtype=p.dtype)  # noqa: E731
        bc = box.sample_boundary(n // 2, (0,), generator)
        ic = box.sample_face(n - n // 2, 1, 0, generator)
        return [
            exact_conditions(self, bc, "boundary", "bc", hard=True, solution=zero),
            exact_conditions(self, ic, "initial", "ic", hard=True, solution=self._initial),
        ]

    def hard_bc_terms(self, x: Tensor) -> tuple[Tensor, Tensor]:
        d = (x[:, 1] * (1 - x[:, 0] ** 2)).reshape(-1, 1)
        return self._initial(x), d

    def reference(self) -> Reference:
        xs = torch.linspace(-1.0, 1.0, 256, dtype=torch.float64)
        ts = torch.linspace(0.0, 0.99, 100, dtype=torch.float64)
        pts = grid_points([xs, ts])
        u = burgers_cole_hopf(pts[:, 0].numpy(), pts[:, 1].numpy(), self.nu)
        return Reference(pts, torch.from_numpy(u).reshape(-1, 1), (xs, ts), "cole-hopf")

    def default_model(self) -> ModelConfig:
        return MLPConfig(2, 1, (32, 32, 32, 32, 32, 32), "tanh")
