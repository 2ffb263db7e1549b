"""End-to-end fine-tuning (calibration="finetune"): guard, gain, fast simulator twin, bad config."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import lava_pinn
from lava_pinn.conversion.convert import parse_mlp
from lava_pinn.conversion.finetune import FinetuneConfig, _params, fast_run, finetune
from lava_pinn.conversion.representations import REPRESENTATIONS, AnnLayer


def _net(seed: int = 0, dims=(2, 12, 12, 1)) -> tuple[nn.Sequential, torch.Tensor]:
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for i in range(len(dims) - 1):
        layers.append(nn.Linear(dims[i], dims[i + 1]))
        if i < len(dims) - 2:
            layers.append(nn.Tanh())
    net = nn.Sequential(*layers).double()
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(300, dims[0], generator=g, dtype=torch.float64) * 2 - 1
    return net, x


def _plan(net, x, T, representation="pwl", neuron="if"):
    hidden, last = parse_mlp(net)
    ann = [AnnLayer(a.weight, a.bias, a.activation) for a in hidden]
    build = REPRESENTATIONS.get(representation).build
    plan = build(
        ann,
        last.weight.detach(),
        last.bias.detach(),
        x,
        T,
        neuron=neuron,
        threshold="mse",
        per_neuron=False,
        threshold_options={},
        pieces=4,
    )
    with torch.no_grad():
        return plan, net(x)


@pytest.mark.parametrize(("representation", "neuron"), [("pwl", "if"), ("direct", "signed-if")])
def test_fast_run_equals_reference_counts(representation, neuron):
    net, x = _net()
    plan, _ = _plan(net, x, 16, representation, neuron)
    y_ref, c_ref = plan.run(x)
    y, c = fast_run(plan, _params(plan), x, torch.float64)
    assert all(torch.equal(a, b) for a, b in zip(c, c_ref, strict=True))
    assert torch.allclose(y, y_ref, atol=1e-12)


def test_finetune_never_worse_and_improves():
    net, x = _net(1)
    plan, y_ann = _plan(net, x, 32, "direct", "if")  # systematic (hard-tanh) error to remove
    err0 = float((plan.run(x)[0] - y_ann).norm() / y_ann.norm())
    tuned, records = finetune(
        plan, x, y_ann, FinetuneConfig(iters=30, batch=128, check_every=10, lr=1e-3)
    )
    err1 = float((tuned.run(x)[0] - y_ann).norm() / y_ann.norm())
    assert records[0]["error"] == pytest.approx(err0)
    assert err1 == pytest.approx(records[-1]["best"])
    assert err1 < 0.95 * err0  # a clear gain on this seeded case
    # the input plan is untouched, thresholds and neuron models are kept
    assert float((plan.run(x)[0] - y_ann).norm() / y_ann.norm()) == pytest.approx(err0)
    for a, b in zip(plan.layers, tuned.layers, strict=True):
        assert torch.equal(a.threshold, b.threshold) and a.neuron == b.neuron
    # a tiny learning rate that cannot help: the guard returns the starting parameters
    same, rec = finetune(plan, x, y_ann, FinetuneConfig(iters=2, lr=1e-12, check_every=1))
    assert rec[-1]["best"] <= err0


def test_convert_finetune_not_worse_than_advanced_and_roundtrips(tmp_path):
    net, x = _net(2)
    kw = dict(T=16, representation="pwl", pieces=4, calibration_steps=40)
    adv = lava_pinn.convert(net, x, calibration="advanced", **kw)
    ft = lava_pinn.convert(net, x, calibration="finetune", finetune_iters=20, **kw)
    with torch.no_grad():
        y = net(x)
    e_adv = float((adv(x) - y).norm() / y.norm())
    e_ft = float((ft(x) - y).norm() / y.norm())
    assert e_ft <= e_adv + 1e-12
    assert ft.metadata["calibration_log"][-1]["step"] == "finetune"
    assert ft.metadata["calibration_error_final"] == pytest.approx(e_ft)
    back = lava_pinn.SpikingNetwork.load(ft.save(tmp_path / "ft.snn"))
    assert torch.equal(back(x), ft(x))


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"iters": -1}, "iters"),
        ({"lr": 0.0}, "lr"),
        ({"lr": float("nan")}, "lr"),
        ({"batch": 0}, "batch"),
        ({"check_every": 0}, "check_every"),
        ({"time_budget_s": -1.0}, "time_budget_s"),
    ],
)
def test_finetune_config_rejects_bad_values(kw, field):
    with pytest.raises(ValueError, match=f"FinetuneConfig.{field}"):
        FinetuneConfig(**kw)


def test_convert_rejects_bad_finetune_option():
    net, x = _net()
    with pytest.raises(ValueError, match="finetune_iters must be an integer >= 0, got -2"):
        lava_pinn.convert(net, x, calibration="finetune", finetune_iters=-2)
