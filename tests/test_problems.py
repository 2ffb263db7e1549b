"""The problem zoo: registry, parameters, samplers, exact solutions vs. their PDE, references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lava_pinn.models import MLPConfig, SPINNConfig
from lava_pinn.problems import (
    PROBLEMS,
    Box,
    Problem,
    available,
    burgers_cole_hopf,
    get_problem,
    register_problem,
)

ZOO = [
    "regression-1d",
    "poisson-2d",
    "diffusion-reaction",
    "burgers-1d",
    "navier-stokes-tg",
    "kovasznay",
    "heat-2d-separable",
]


def test_registry_holds_the_zoo():
    assert set(ZOO) <= set(available())
    for name in ZOO:
        p = get_problem(name)
        assert p.name == name
        assert len(p.inputs) == p.domain.dim
        m = p.default_model()
        assert isinstance(m, MLPConfig | SPINNConfig)
        assert m.out_features == len(p.outputs)


def test_unknown_problem_lists_available():
    with pytest.raises(KeyError) as err:
        get_problem("no-such-pde")
    msg = str(err.value)
    assert "no-such-pde" in msg and "burgers-1d" in msg and "navier-stokes-tg" in msg


def test_parameters_are_validated():
    assert get_problem("kovasznay", Re=40).Re == 40.0
    with pytest.raises(ValueError, match="Re"):
        get_problem("kovasznay", Re=-1)
    with pytest.raises(ValueError, match="no parameter"):
        get_problem("burgers-1d", viscosity=0.1)
    with pytest.raises(TypeError, match="nu"):
        get_problem("burgers-1d", nu="small")


def test_user_problem_registers_through_the_same_registry():
    class Linear1D(Problem):
        name = "test-linear-1d"
        inputs = ("x",)
        outputs = ("u",)

        @property
        def domain(self):
            return Box((0.0,), (1.0,))

        def residual(self, x, u):
            return {"ode": torch.autograd.grad(u.sum(), x, create_graph=True)[0][:, 0] - 1}

        def exact(self, x):
            return x[:, :1]

    try:
        register_problem(Linear1D)
        assert "test-linear-1d" in available()
        assert isinstance(get_problem("test-linear-1d"), Linear1D)
        with pytest.raises(ValueError, match="already registered"):
            register_problem(Linear1D)
    finally:
        PROBLEMS._items.pop("test-linear-1d", None)
    with pytest.raises(TypeError):
        register_problem(int)


def test_sampler_is_seeded_and_inside_the_box():
    p = get_problem("navier-stokes-tg")
    a = p.domain.sample(500, torch.Generator().manual_seed(3))
    b = p.domain.sample(500, torch.Generator().manual_seed(3))
    c = p.domain.sample(500, torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)
    lo, hi = torch.tensor(p.domain.low), torch.tensor(p.domain.high)
    assert bool(((a >= lo) & (a <= hi)).all())
    bd = p.domain.sample_boundary(400, (0, 1), torch.Generator().manual_seed(0))
    on_face = ((bd[:, :2].abs() - 1).abs() < 1e-12).any(dim=1)
    assert bool(on_face.all())
    c1 = p.conditions(300, torch.Generator().manual_seed(1))
    c2 = p.conditions(300, torch.Generator().manual_seed(1))
    for x, y in zip(c1, c2, strict=True):
        assert torch.equal(x.points, y.points) and torch.equal(x.targets, y.targets)


@pytest.mark.parametrize("name", [n for n in ZOO if n not in ("regression-1d", "burgers-1d")])
def test_exact_solution_satisfies_pde(name):
    """Residual of the analytic solution by autograd (float64): zero to rounding (<= 1e-10)."""
    p = get_problem(name)
    x = p.domain.sample(400, torch.Generator().manual_seed(0)).requires_grad_(True)
    res = p.residual(x, p.exact(x))
    assert res
    for eq, r in res.items():
        assert float(r.abs().max()) < 1e-10, (name, eq)
    # and a perturbed solution does not
    u = p.exact(x) + 0.1 * torch.sin(3 * x[:, :1])
    assert max(float(r.abs().max()) for r in p.residual(x, u).values()) > 1e-3


def test_taylor_green_exact_form():
    p = get_problem("navier-stokes-tg")
    x = torch.tensor([[0.3, -0.2, 0.5]], dtype=torch.float64)
    u, v, pr = p.exact(x)[0].tolist()
    e = math.exp(-1.0)
    assert u == pytest.approx(-math.cos(0.3) * math.sin(-0.2) * e, rel=1e-14)
    assert v == pytest.approx(math.sin(0.3) * math.cos(-0.2) * e, rel=1e-14)
    assert pr == pytest.approx(-(math.cos(0.6) + math.cos(-0.4)) * e**2 / 4, rel=1e-14)
    assert p.domain.low == (-1.0, -1.0, 0.0) and p.domain.high == (1.0, 1.0, 1.0)


@pytest.mark.parametrize("name", [n for n in ZOO if get_problem(n).has_hard_bc])
def test_hard_constraint_meets_conditions_for_any_network(name):
    p = get_problem(name)
    gen = torch.Generator().manual_seed(0)
    for c in p.conditions(200, gen):
        if not c.hard:
            continue
        noise = torch.randn(c.points.shape[0], p.out_features, dtype=torch.float64)
        u = p.apply_hard_bc(c.points, noise)[:, list(c.fields)]
        assert torch.allclose(u, c.targets, atol=1e-12), (name, c.name)


def test_burgers_reference_physics():
    """Cole-Hopf solution: initial condition exact, boundaries ~0, odd in x, shock steepens."""
    x = np.linspace(-1, 1, 201)
    assert np.allclose(burgers_cole_hopf(x, 0.0), -np.sin(np.pi * x), atol=1e-15)
    u = burgers_cole_hopf(np.array([-1.0, 1.0]), np.array([0.5, 0.5]))
    assert np.abs(u).max() < 1e-10
    u = burgers_cole_hopf(x, 0.7)
    assert np.allclose(u, -u[::-1], atol=1e-10)
    slope = np.abs(np.diff(u)).max() / (x[1] - x[0])
    assert slope > 50  # a shock (initial slope pi)
    with pytest.raises(ValueError, match="n_quad"):
        burgers_cole_hopf(x, 0.5, n_quad=5000)


def test_burgers_reference_matches_raissi_data(shared_data):
    """Our Cole-Hopf reference vs. burgers_shock.mat: rel. L2 <= 1e-3 on the .mat grid."""
    from scipy.io import loadmat

    path = shared_data / "burgers_shock.mat"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    d = loadmat(path)
    x, t, usol = d["x"][:, 0], d["t"][:, 0], d["usol"]
    ref = get_problem("burgers-1d").reference()
    assert np.allclose(ref.axes[0].numpy(), x) and np.allclose(ref.axes[1].numpy(), t)
    ours = ref.values[:, 0].numpy().reshape(len(x), len(t))
    rel = np.linalg.norm(ours - usol) / np.linalg.norm(usol)
    assert rel <= 1e-3, rel


def test_reference_grid_order_matches_axes():
    p = get_problem("heat-2d-separable")
    ref = p.reference()
    n = [len(a) for a in ref.axes]
    assert ref.points.shape == (math.prod(n), 3) and ref.values.shape == (math.prod(n), 1)
    i, j, k = 3, 5, 7
    row = (i * n[1] + j) * n[2] + k
    assert torch.equal(
        ref.points[row], torch.stack([ref.axes[0][i], ref.axes[1][j], ref.axes[2][k]])
    )


def test_describe_row():
    row = get_problem("navier-stokes-tg").describe()
    assert row["outputs"] == ["u", "v", "p"] and row["exact"] is True
    assert row["model"] == "3-64-64-64-64-64-64-3 tanh"
    assert get_problem("regression-1d").default_model() == MLPConfig(1, 1, (64,) * 4, "tanh")


def test_calibration_points_reach_the_boundary_and_corners():
    from lava_pinn.conversion.convert import default_calibration_points

    p = get_problem("navier-stokes-tg")
    x = default_calibration_points("navier-stokes-tg", {}, 400, seed=2, boundary=0.25)
    assert x.shape == (400, 3) and x.dtype == torch.float64
    lo = torch.tensor(p.domain.low, dtype=torch.float64)
    hi = torch.tensor(p.domain.high, dtype=torch.float64)
    assert bool(((x >= lo) & (x <= hi)).all())
    on_face = ((x == lo) | (x == hi)).any(dim=1)
    assert int(on_face.sum()) == 100  # the interior points are a.s. off the faces
    corners = p.domain.corners()
    assert corners.shape == (8, 3)
    assert all(bool((x == c).all(dim=1).any()) for c in corners)
    assert torch.equal(x, default_calibration_points("navier-stokes-tg", {}, 400, 2, 0.25))
    interior = default_calibration_points("navier-stokes-tg", {}, 400, seed=2)
    assert not bool(((interior == lo) | (interior == hi)).any())
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match=r"boundary must be a fraction in \[0, 1\]"):
            default_calibration_points("navier-stokes-tg", {}, 10, boundary=bad)
    with pytest.raises(TypeError, match="boundary"):
        default_calibration_points("navier-stokes-tg", {}, 10, boundary="all")
