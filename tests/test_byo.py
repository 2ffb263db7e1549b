"""Bring your own PINN: a plain torch MLP trained outside lava-pinn goes through
convert -> exporters.export -> Lava run with the calls docs/byo-pinn.md shows; a user-defined
problem goes through the same registry (and pipeline) as the zoo."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from torch import nn

import hardware
import lava_pinn
from exporters import export, load_artifact
from lava_pinn.models import mlp_from_state_dict

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@functools.lru_cache(maxsize=1)
def _outside_mlp() -> nn.Module:
    """What a user brings: their own module class and forward, trained on u = sin(pi x)."""

    class MyPINN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inp = nn.Linear(1, 24)
            self.hidden = nn.Linear(24, 24)
            self.out = nn.Linear(24, 1)

        def forward(self, x):
            return self.out(torch.tanh(self.hidden(torch.tanh(self.inp(x)))))

    torch.manual_seed(0)
    net = MyPINN()
    x = torch.linspace(-1, 1, 64)[:, None]
    y = torch.sin(torch.pi * x)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(200):
        opt.zero_grad()
        loss = ((net(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
    return net


def test_state_dict_rebuilds_the_same_function():
    net = _outside_mlp()
    model = mlp_from_state_dict(net.state_dict(), activation="tanh")
    x = torch.rand(10, 1) * 2 - 1
    assert torch.equal(model(x), net(x))
    assert [type(m).__name__ for m in model] == ["Linear", "Tanh", "Linear", "Tanh", "Linear"]
    assert mlp_from_state_dict(net.state_dict(), widths=(24, 24))[0].out_features == 24


@pytest.mark.lava
def test_outside_mlp_converts_exports_and_runs_on_lava(tmp_path):
    net = _outside_mlp()
    model = mlp_from_state_dict(net.state_dict(), activation="tanh")
    x_cal = torch.linspace(-1, 1, 256, dtype=torch.float64)[:, None]
    snn = lava_pinn.convert(model, x_cal, T=16, pieces=4, calibration="light")
    path = export(snn, tmp_path / "network.h5", calibration_inputs=x_cal)
    assert load_artifact(path).network.T == 16
    x = np.linspace(-0.9, 0.9, 8)[:, None]
    lava = hardware.run(path, x, backend="lava-cpu", batch=8)
    twin = hardware.run(path, x, backend="torch-twin")
    assert np.array_equal(lava.y, twin.y)  # Lava fixed_pt == the torch twin, bit for bit
    assert all(np.array_equal(a, b) for a, b in zip(lava.counts, twin.counts, strict=True))
    ann = model(torch.from_numpy(x).float()).detach().double().numpy()
    assert np.linalg.norm(lava.y - ann) / np.linalg.norm(ann) < 0.15
    assert lava.layer_spikes.sum() > 0


def test_sequential_and_state_dict_errors():
    seq = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    snn = lava_pinn.convert(seq, torch.rand(64, 2, dtype=torch.float64), T=4, calibration="none")
    assert snn.in_features == 2 and snn.out_features == 1
    sd = seq.state_dict()
    with pytest.raises(ValueError, match=r"2\.weight has shape \(1, 7\)"):
        mlp_from_state_dict({**sd, "2.weight": torch.zeros(1, 7)})
    with pytest.raises(ValueError, match=r"widths \(16,\) do not match .* \(8,\)"):
        mlp_from_state_dict(sd, widths=(16,))
    with pytest.raises(ValueError, match="norm.running_mean"):
        mlp_from_state_dict({**sd, "norm.running_mean": torch.zeros(8)})
    with pytest.raises(ValueError, match="activation: unknown activation 'swish'"):
        mlp_from_state_dict(sd, activation="swish")
    with pytest.raises(ValueError, match="at least 2"):
        mlp_from_state_dict({"0.weight": torch.zeros(3, 2)})
    with pytest.raises(TypeError, match="mapping"):
        mlp_from_state_dict([torch.zeros(3, 2)])


def test_user_problem_through_the_registry_and_pipeline(tmp_path):
    from hardware.app.pipeline import PipelineConfig, run_pipeline
    from hardware.app.stages import ConvertOptions
    from lava_pinn.problems import Box, Problem, exact_conditions, get_problem, register_problem
    from lava_pinn.training import TrainConfig, train

    @register_problem(replace=True)
    class Sine1D(Problem):
        """u(x) = sin(pi x) on [-1, 1] from 32 samples (data loss only)."""

        name = "byo-test-sine"
        inputs = ("x",)
        outputs = ("u",)

        @property
        def domain(self):
            return Box((-1.0,), (1.0,))

        @property
        def has_pde(self):
            return False

        def residual(self, x, u):
            return {}

        def conditions(self, n, generator):
            x = torch.linspace(-1, 1, 32, dtype=torch.float64)[:, None]
            return [exact_conditions(self, x, "data", "data")]

        def exact(self, x):
            return torch.sin(torch.pi * x[:, :1])

        def default_model(self):
            from lava_pinn.models import MLPConfig

            return MLPConfig(1, 1, (16, 16), "tanh")

    problem = get_problem("byo-test-sine")
    cfg = TrainConfig.for_problem(problem, adam_steps=200, lbfgs_steps=0)
    result = train(problem, problem.default_model(), cfg, progress=False)
    out = tmp_path / "mine"
    result.save(out / "checkpoint.pt")  # the user's own checkpoint, put into the run directory
    ctx = run_pipeline(
        PipelineConfig(
            problem="byo-test-sine",
            out=out,
            convert=ConvertOptions(T=8, representation="direct", calibration="light"),
            backends=("torch-twin",),
            figures=False,
        ),
        progress=False,
    )
    assert ctx.skipped == ["train"]  # the checkpoint in DIR is kept
    assert ctx.ran == ["convert", "export", "run", "energy", "report"]
    assert "byo-test-sine" in (out / "report.md").read_text()
