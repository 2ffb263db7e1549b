"""Training: loss goes down, seeding, NaN stop, hard BCs, checkpoints, and the pretrained zoo."""

from __future__ import annotations

import io

import pytest
import torch

from lava_pinn.checkpoint import CheckpointError, load_checkpoint, pretrained_path
from lava_pinn.models import MLPConfig, SPINNConfig
from lava_pinn.problems import Poisson2D, get_problem
from lava_pinn.training import (
    TrainConfig,
    TrainingError,
    evaluate,
    pinn_forward,
    predict,
    train,
)

SMALL = MLPConfig(2, 1, (16, 16), "tanh")

# ANN acceptance targets (relative L2 per output field) of the committed checkpoints.
TARGETS = {
    "regression-1d": {"u": 0.01},
    "poisson-2d": {"u": 0.01},
    "diffusion-reaction": {"u": 0.01},
    "burgers-1d": {"u": 0.02},
    "navier-stokes-tg": {"u": 0.02, "v": 0.02},
    "kovasznay": {"u": 0.02, "v": 0.02},
    "heat-2d-separable": {"u": 0.01},
}


def quick(**kw) -> TrainConfig:
    base = dict(adam_steps=200, lr=5e-3, n_collocation=256, n_boundary=128, log_every=50)
    return TrainConfig(**{**base, **kw})


def test_a_few_hundred_steps_reduce_the_loss():
    res = train("poisson-2d", SMALL, quick(adam_steps=300), progress=False)
    first, last = res.history[0]["loss"], res.metrics["loss"]
    assert last < 0.2 * first, (first, last)
    assert set(res.metrics["rel_l2"]) == {"u"}
    assert res.metrics["wall_time_s"] > 0 and res.metrics["adam_steps"] == 300


def test_lbfgs_phase_runs_and_improves():
    cfg = quick(adam_steps=100, lbfgs_steps=60)
    res = train("diffusion-reaction", SMALL, cfg, progress=False)
    adam_end = [h for h in res.history if h["phase"] == "adam"][-1]["loss"]
    assert 0 < res.metrics["lbfgs_iterations"] <= 60
    assert res.metrics["loss"] < adam_end


def test_training_is_seeded():
    a = train("poisson-2d", SMALL, quick(adam_steps=20, seed=7), progress=False)
    b = train("poisson-2d", SMALL, quick(adam_steps=20, seed=7), progress=False)
    c = train("poisson-2d", SMALL, quick(adam_steps=20, seed=8), progress=False)
    sa, sb, sc = (r.model.state_dict() for r in (a, b, c))
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


class _NanPoisson(Poisson2D):
    def residual(self, x, u):
        return {k: r * float("nan") for k, r in super().residual(x, u).items()}


def test_nan_loss_stops_with_a_clear_error():
    with pytest.raises(TrainingError) as err:
        train(_NanPoisson(), SMALL, quick(adam_steps=50), progress=False)
    msg = str(err.value)
    assert "adam step 1" in msg and "pde:poisson=nan" in msg and "learning rate" in msg


@pytest.mark.parametrize("name", ["poisson-2d", "diffusion-reaction", "burgers-1d"])
def test_hard_bc_holds_exactly_on_the_boundary(name):
    problem = get_problem(name)
    res = train(problem, SMALL, quick(adam_steps=30, hard_bc=True), progress=False)
    assert not [k for k in res.metrics["loss_terms"] if not k.startswith("pde:")]
    for c in problem.conditions(300, torch.Generator().manual_seed(5)):
        pts = c.points.float()
        with torch.no_grad():
            u = pinn_forward(res.model, problem, pts, hard_bc=True)[:, list(c.fields)]
        assert torch.allclose(u.double(), c.targets, atol=2e-6), c.name
        with torch.no_grad():
            raw = res.model(pts)[:, list(c.fields)]
        assert not torch.allclose(raw.double(), c.targets, atol=1e-3)  # the net alone does not


def test_hard_bc_refused_where_undefined():
    with pytest.raises(ValueError, match="hard-constraint"):
        train("kovasznay", config=quick(adam_steps=5, hard_bc=True), progress=False)


def test_checkpoint_round_trip(tmp_path):
    res = train("diffusion-reaction", SMALL, quick(adam_steps=40, hard_bc=True), progress=False)
    path = res.save(tmp_path / "ck.pt")
    ck = load_checkpoint(path)
    assert ck.problem == "diffusion-reaction" and ck.hard_bc is True
    assert ck.problem_params == {"D": 0.1, "k": 1.0}
    assert ck.training["adam_steps"] == 40 and ck.config == SMALL
    x = torch.rand(50, 2)
    with torch.no_grad():
        assert torch.equal(ck.model(x), res.model(x))
    assert evaluate(ck) == pytest.approx(res.metrics["rel_l2"], rel=1e-12)
    assert evaluate(path) == pytest.approx(res.metrics["rel_l2"], rel=1e-12)
    # a stored hard-BC checkpoint evaluated as a bare network is a different (worse) PINN
    assert evaluate(ck, hard_bc=False)["u"] != pytest.approx(res.metrics["rel_l2"]["u"])


def test_wrong_architecture_and_corrupt_checkpoint_name_the_file(tmp_path):
    res = train("poisson-2d", SMALL, quick(adam_steps=2), progress=False)
    path = res.save(tmp_path / "ck.pt")
    payload = torch.load(path, weights_only=True)
    payload["model"]["widths"] = [32, 32]
    buf = io.BytesIO()
    torch.save(payload, buf)
    bad = tmp_path / "wrong_arch.pt"
    bad.write_bytes(buf.getvalue())
    with pytest.raises(CheckpointError, match="wrong_arch.pt"):
        load_checkpoint(bad)
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"this is not a checkpoint")
    with pytest.raises(CheckpointError, match="corrupt.pt"):
        load_checkpoint(corrupt)
    with pytest.raises(CheckpointError, match="missing.pt"):
        evaluate(tmp_path / "missing.pt")


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"adam_steps": -1}, "adam_steps"),
        ({"adam_steps": 0, "lbfgs_steps": 0}, "both 0"),
        ({"lbfgs_steps": 2.5}, "lbfgs_steps"),
        ({"lr": 0.0}, "lr"),
        ({"lr_schedule": "linear"}, "linear"),
        ({"n_collocation": 0}, "n_collocation"),
        ({"dtype": "float16"}, "float16"),
        ({"bc_weight": -1.0}, "bc_weight"),
        ({"seed": -2}, "seed"),
    ],
)
def test_invalid_hyper_parameters(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        TrainConfig(**kwargs)


def test_invalid_model_configs():
    with pytest.raises(ValueError, match="0"):
        MLPConfig(2, 1, (16, 0), "tanh")
    with pytest.raises(ValueError, match="swish"):
        MLPConfig(2, 1, (16,), "swish")
    with pytest.raises(ValueError, match="maps"):
        train("navier-stokes-tg", SMALL, quick(adam_steps=2), progress=False)
    with pytest.raises(ValueError, match="no field"):
        TrainConfig.for_problem("poisson-2d", adam_step=3)


def test_float64_and_spinn_training():
    cfg = quick(adam_steps=30, dtype="float64", n_collocation=200, n_boundary=90)
    spinn = SPINNConfig(axes=3, out_features=1, widths=(8, 8), rank=4)
    res = train("heat-2d-separable", spinn, cfg, progress=False)
    assert next(res.model.parameters()).dtype == torch.float64
    problem = res.problem
    ref = problem.reference()
    grid = predict(res.model, problem, ref.points, axes=ref.axes)
    pointwise = predict(res.model, problem, ref.points)
    assert torch.allclose(grid, pointwise, atol=1e-12)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_pretrained_checkpoints_meet_their_targets(name):
    path = pretrained_path(name)
    assert path.is_file(), f"missing committed checkpoint {path}"
    assert path.stat().st_size < 1_000_000
    ck = load_checkpoint(path)
    assert ck.problem == name and ck.hard_bc is False  # the bare network is the PINN
    assert ck.config == get_problem(name).default_model()
    rel = evaluate(ck)
    for field, target in TARGETS[name].items():
        assert rel[field] <= target, (name, field, rel[field])
