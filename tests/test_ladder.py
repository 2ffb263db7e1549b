"""The equivalence ladder on a small network: every rung runs (Lava too), the bit-exact check
passes, and a planted difference is located at its layer and time step."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from exporters import fixed_point as fp
from exporters.intnet import IntegerNetwork, random_network
from exporters.twin import run_twin
from hardware.ladder import equivalence_ladder, first_divergence
from lava_pinn.conversion.network import OutputLayer, SpikingLayer, SpikingNetwork


def _float_twin_of(net: IntegerNetwork) -> SpikingNetwork:
    """The float SNN whose exact arithmetic the integer network rounds (soft-reset IF only):
    it differs from the twin only by the host-side rounding of the input."""
    t = lambda a: torch.tensor(np.asarray(a, dtype=np.float64))  # noqa: E731
    hidden = []
    for i, la in enumerate(net.hidden):
        w = fp.dense_effective_weights(la.weight) if i else la.weight.astype(np.float64)
        w = w * 2.0**la.weight_exp
        if i == 0:
            w = w / net.input_scale[None, :]
        hidden.append(SpikingLayer(t(w), t(la.bias), la.neuron, t(la.threshold), t(la.v0)))
    ro = net.readout
    w_out = net.output_scale[:, None] * fp.dense_effective_weights(ro.weight) * 2.0**ro.weight_exp
    out = OutputLayer(t(w_out), t(net.output_scale * ro.bias))
    return SpikingNetwork(hidden, out, net.T)


@pytest.fixture
def pair():
    net = random_network(np.random.default_rng(21), [2, 6, 5, 2], "if", 12)
    return _float_twin_of(net), net


def test_first_divergence_finds_earliest_step_then_lowest_layer():
    a = [np.zeros((3, 5, 4), np.int8), np.zeros((3, 5, 2), np.int8)]
    b = [x.copy() for x in a]
    assert first_divergence(a, b) is None
    b[1][2, 1, 1] = 1  # layer 1, step 2
    b[0][1, 3, 0] = 1  # layer 0, step 4
    d = first_divergence(a, b, ["in", "out"], np.array([10, 11, 12]))
    assert (d.layer, d.layer_name, d.step, d.point, d.neuron) == (1, "out", 2, 12, 1)
    assert d.first_step_per_layer == (4, 2)


@pytest.mark.lava
def test_ladder_runs_every_rung_and_lava_fixed_equals_twin(pair):
    pytest.importorskip("lava.magma.core.process.process")
    snn, net = pair
    x = np.random.default_rng(0).uniform(-1, 1, size=(4, 2))
    ann = torch.nn.Sequential(torch.nn.Linear(2, 2)).double()
    exact = np.zeros((4, 2)) + 0.5
    # the float SNN differs from the twin only by input rounding: one spike here and there
    tol = {"snn-int": 0.25}
    rep = equivalence_ladder(snn, x, ann=ann, exact=exact, network=net, batch=4, tolerances=tol)
    assert [r.name for r in rep.rungs] == [
        "ann",
        "snn-float",
        "snn-int",
        "lava-float",
        "lava-fixed",
    ]
    fixed = rep.check("lava-fixed")
    assert fixed.identical and fixed.ok and fixed.divergence is None
    assert rep.check("lava-float").ok and rep.check("snn-int").ok, rep.to_markdown()
    assert np.array_equal(rep.rung("lava-fixed").y, rep.rung("snn-int").y)
    assert rep.ok and rep.reference == "exact"
    md = rep.to_markdown()
    assert "Lava fixed_pt" in md and "(identical)" in md and "MISMATCH" not in md
    d = json.loads(json.dumps(rep.to_dict()))
    assert d["checks"][-1]["identical"] is True and len(d["rungs"]) == 5


def test_planted_difference_is_located(pair):
    snn, net = pair
    la = snn.hidden[1]
    th = la.threshold.clone()
    th[3] = th[3] * 0.3  # neuron 3 of layer 1 fires far more often in the float SNN
    hidden = (snn.hidden[0], dataclasses.replace(la, threshold=th), *snn.hidden[2:])
    bad = SpikingNetwork(hidden, snn.output, snn.T)
    x = np.random.default_rng(1).uniform(-1, 1, size=(6, 2))
    rep = equivalence_ladder(bad, x, network=net, lava=False, tolerances={"snn-int": 1e-12})
    c = rep.check("snn-int")
    assert c.ok is False and not rep.ok
    assert c.divergence is not None and c.divergence.layer <= 1
    tw = run_twin(net, x, trace=True).spikes
    assert "first divergence at layer" in rep.to_markdown() and "MISMATCH" in rep.to_markdown()
    assert tw[1].shape == (6, 12, 5)


@pytest.mark.lava
def test_lava_fixed_mismatch_is_located_step_by_step(pair, monkeypatch):
    """A fault planted in the Lava fixed_pt IF model at step 5: the ladder names layer 0, step 5."""
    pytest.importorskip("lava.magma.core.process.process")
    from exporters.lava_procs import models

    real = models.PyNeuronModelFixed._advance

    def faulty(self, a):
        if self.t[0] == 5 and self.t_start[0] == 1:  # layer 0 (window starts at step 1)
            a = a + self.vth  # forces spikes
        return real(self, a)

    monkeypatch.setattr(models.PyNeuronModelFixed, "_advance", faulty)
    snn, net = pair
    x = np.random.default_rng(2).uniform(-1, 1, size=(3, 2))
    rep = equivalence_ladder(snn, x, network=net, batch=3)
    c = rep.check("lava-fixed")
    assert c.ok is False and not c.identical
    assert (c.divergence.layer, c.divergence.step) == (0, 5), c.divergence
    assert "MISMATCH" in rep.to_markdown()


def test_ladder_from_an_artifact_file_of_a_zoo_network(tmp_path):
    import warnings

    import lava_pinn
    from exporters.artifact import export, load
    from lava_pinn.checkpoint import load_pretrained
    from lava_pinn.conversion.convert import default_calibration_points

    ck = load_pretrained("regression-1d")
    x = default_calibration_points(ck.problem, ck.problem_params, 32, seed=0)
    snn = lava_pinn.convert(ck, x, T=16, representation="direct", calibration="light")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = export(snn, tmp_path / "reg.h5", calibration_inputs=x, search=False)
        rep = equivalence_ladder(path, x[:8], ann=ck.model, lava=False)
    assert [r.name for r in rep.rungs] == ["ann", "snn-float", "snn-int"]
    assert rep.reference == "ann" and rep.rung("ann").rel_to_reference == 0.0
    assert rep.rung("snn-int").rel_to_previous == rep.check("snn-int").rel_diff
    net = load(path)
    assert net.T == 16
    netonly = export(net, tmp_path / "net.h5")
    with pytest.raises(ValueError, match="holds no float SNN"):
        equivalence_ladder(netonly, x[:2], lava=False)


@pytest.mark.lava
def test_ladder_command_on_a_run_directory(tmp_path, capsys):
    pytest.importorskip("lava.magma.core.process.process")
    import hardware.app.export_cli  # noqa: F401  registers `export`
    import hardware.app.ladder_cli  # noqa: F401  registers `ladder`
    from hardware.app.cli import main

    d = tmp_path / "run"
    assert main(["train", "regression-1d", "--out", str(d), "--pretrained"]) == 0
    fast = ["--T", "8", "--representation", "direct", "--calibration", "light"]
    assert main(["convert", str(d), *fast, "--calibration-points", "64"]) == 0
    assert main(["export", str(d), "--scoring-points", "32", "--no-search"]) == 0
    capsys.readouterr()
    # a tolerance no quantized network meets: the mismatch is reported, exit status 1
    tight = ["--quant-tolerance", "1e-9"]
    assert main(["ladder", str(d), "--points", "6", "--no-lava", *tight]) == 1
    assert "MISMATCH" in capsys.readouterr().out
    assert (
        main(["ladder", str(d), "--points", "6", "--lava-batch", "6", "--quant-tolerance", "1"])
        == 0
    )
    out = capsys.readouterr().out
    assert "Lava fixed_pt" in out and "(identical)" in out and "reference: exact" in out
    rep = json.loads((d / "ladder.json").read_text())
    assert [r["name"] for r in rep["rungs"]][-1] == "lava-fixed" and rep["ok"]
    assert (d / "ladder.md").read_text().startswith("Equivalence ladder")
    assert main(["ladder", str(tmp_path / "nothing")]) == 2


def test_ladder_and_netx_modules_import_without_lava():
    import subprocess
    import sys

    code = (
        "import sys, exporters.netx, hardware.ladder, hardware.app.ladder_cli; "
        "assert not any(m == 'lava' or m.startswith('lava.') for m in sys.modules), 'lava'"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


def test_ladder_quantizes_a_float_snn_given_without_its_network():
    """A float SpikingNetwork without its network: the ladder quantizes it on x."""
    import warnings

    import lava_pinn
    from lava_pinn.checkpoint import load_pretrained
    from lava_pinn.conversion.convert import default_calibration_points

    ck = load_pretrained("regression-1d")
    x = default_calibration_points(ck.problem, ck.problem_params, 32, seed=0)
    snn = lava_pinn.convert(ck, x, T=16, representation="direct", calibration="light")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = equivalence_ladder(snn, x.numpy(), lava=False)
    assert [r.name for r in rep.rungs] == ["snn-float", "snn-int"]
    assert rep.T == 16 and np.isfinite(rep.check("snn-int").rel_diff)  # quantized on x
