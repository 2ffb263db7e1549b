"""A run directory never mixes runs: every stage records what it was made from, a stage whose
inputs changed is redone or refused with a message, and what a user made by hand is kept
unless ``--redo`` names it (issue 19, deliverable 4). Real pipeline on regression-1d: Lava CPU
simulator on 16 points, torch twin on the grid."""

from __future__ import annotations

import json
import shutil

import pytest

import hardware.app.export_cli  # noqa: F401  registers `export`
import hardware.app.pipeline_cli  # noqa: F401  registers `pipeline`, `report`
import hardware.app.run_cli  # noqa: F401  registers `run`, `energy`
from hardware.app.cli import main
from hardware.app.rundir import RunDir

pytestmark = pytest.mark.lava

TOML = """
lava_points = 16
lava_batch = 16
field_grid = 4
sweep_T = [4, 8]
sweep_points = 32
profiles = ["loihi", "cmos-45nm"]

[convert]
T = 8
representation = "direct"
calibration = "light"
calibration_points = 128

[export]
scoring_points = 32
"""


def _pipeline(out) -> int:
    cfg = out.parent / "study.toml"
    cfg.write_text(TOML)
    return main(["pipeline", "regression-1d", "--out", str(out), "--config", str(cfg), "--quiet"])


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    """A finished two-backend pipeline (torch twin + Lava CPU), copied by each test."""
    out = tmp_path_factory.mktemp("prov") / "x2"
    assert _pipeline(out) == 0
    return out


@pytest.fixture
def rundir(done, tmp_path):
    out = tmp_path / "x2"
    shutil.copytree(done, out)
    (tmp_path / "study.toml").write_text(TOML)
    return out


def _pipe(out, *flags) -> list[str]:
    return [
        "pipeline",
        "regression-1d",
        "--out",
        str(out),
        "--config",
        str(out.parent / "study.toml"),
        "--quiet",
        *flags,
    ]


def test_every_stage_records_inputs_outputs_and_who(rundir):
    stages = json.loads((rundir / "run.json").read_text())["stages"]
    net = RunDir(rundir).digest("network.h5")
    assert stages["run"]["inputs"]["network.h5"] == net
    assert stages["run"]["info"]["lava-cpu"]["network_sha256"] == net
    assert stages["export"]["inputs"]["snn.pt"] == stages["convert"]["outputs"]["snn.pt"]
    assert "activity_lava-cpu.json" in stages["energy"]["inputs"]
    assert "predictions.npz#snn_lava_cpu" in stages["energy"]["inputs"]
    assert stages["figures"]["inputs"]["network.h5"] == net
    assert {s["by"] for s in stages.values()} == {"pipeline"}
    assert not RunDir(rundir).stale("energy")
    # the derived files say it themselves: activity, energy report, summary report
    act = json.loads((rundir / "activity_lava-cpu.json").read_text())["run"]["made_from"]
    assert act == {"network": "network.h5", "network_sha256": net, "points": 16, "seed": 0}
    made = json.loads((rundir / "energy.json").read_text())["made_from"]
    assert made["network_sha256"] == net and made["options"]["profiles"] == ["loihi", "cmos-45nm"]
    act_file = "activity_lava-cpu.json"
    assert made["inputs"][act_file] == RunDir(rundir).digest(act_file)
    report = (rundir / "report.md").read_text()
    assert "## Provenance" in report and "| run | pipeline | checkpoint.pt " in report
    assert f"network.h5 {net[:12]}" in report


def test_run_of_one_backend_keeps_the_others_and_never_cites_stale_energy(rundir, capsys):
    """The issue's first symptom: `run DIR --backend torch-twin` after a two-backend run dropped
    the lava-cpu row while the energy section still cited lava-cpu's older activity."""
    assert main(["run", str(rundir), "--backend", "torch-twin", "--points", "100"]) == 0
    capsys.readouterr()
    assert main(["report", str(rundir)]) == 0
    out = capsys.readouterr().out
    assert "SNN lava-cpu        16" in out  # same network, same points: still valid, still shown
    assert "SNN torch-twin     100" in out
    # the energy report priced the twin's earlier activity too: said, and its numbers left out
    assert "energy (made by" not in out and "energy is stale: activity_torch-twin.json" in out
    assert "lava-pinn energy" in out and "SNN costs" not in out
    # figures drew the twin's earlier predictions: the command to redo them names the problem
    assert f"`lava-pinn pipeline regression-1d --out {rundir} --redo figures`" in out
    # a new network: the other backend's results no longer belong to it and are removed
    conv = ["--T", "4", "--representation", "direct", "--calibration", "light"]
    assert main(["convert", str(rundir), *conv, "--calibration-points", "64"]) == 0
    assert main(["export", str(rundir)]) == 0
    assert main(["run", str(rundir), "--backend", "torch-twin"]) == 0
    out = capsys.readouterr().out
    assert "lava-cpu: earlier results removed (made from an earlier network.h5)" in out
    assert not (rundir / "activity_lava-cpu.json").exists()
    rd = RunDir(rundir)
    assert "snn_lava_cpu" not in rd.load_predictions()
    assert set(rd.stage("run")["info"]) == {"problem", "points_total", "torch-twin"}
    assert main(["report", str(rundir)]) == 0
    out = capsys.readouterr().out
    assert "SNN lava-cpu" not in out and "energy is stale" in out


def test_pipeline_keeps_a_hand_made_energy_report_unless_redo_names_it(rundir, capsys):
    """The issue's second symptom: `pipeline --redo figures` silently overwrote an energy report
    made with a custom profile."""
    assert main(["energy", str(rundir), "--profile", "loihi2"]) == 0
    mine = (rundir / "energy.json").read_bytes()
    capsys.readouterr()
    assert main(_pipe(rundir, "--redo", "figures")) == 0
    err = capsys.readouterr().err
    assert (rundir / "energy.json").read_bytes() == mine
    assert "kept energy.json made by hand (`lava-pinn energy" in err and "--profile loihi2" in err
    assert "add `--redo energy` to replace it" in err
    assert main(_pipe(rundir)) == 0  # a plain rerun keeps it too
    assert (rundir / "energy.json").read_bytes() == mine
    assert main(_pipe(rundir, "--redo", "energy")) == 0
    assert (rundir / "energy.json").read_bytes() != mine
    assert RunDir(rundir).stage("energy")["by"] == "pipeline"


def test_hand_made_report_whose_inputs_changed_is_refused_not_mixed(rundir, capsys):
    assert main(["energy", str(rundir), "--profile", "loihi2"]) == 0
    mine = (rundir / "energy.json").read_bytes()
    capsys.readouterr()
    # the pipeline runs the twin on 50 points now: new activity, the hand-made report is stale
    assert main(_pipe(rundir, "--grid-points", "50")) == 2
    err = capsys.readouterr().err
    assert "energy.json was made by hand (`lava-pinn energy" in err
    assert "activity_torch-twin.json" in err and "--redo energy" in err
    assert (rundir / "energy.json").read_bytes() == mine  # refused, not overwritten
    assert main(_pipe(rundir, "--grid-points", "50", "--redo", "energy")) == 0
    assert not RunDir(rundir).stale("energy")


def test_pipeline_redoes_its_own_stage_whose_input_changed(rundir, capsys):
    # activity measured again by hand (same options): the pipeline's energy report is stale
    # and redone, not kept beside activity it was not made from
    assert main(["run", str(rundir), "--backend", "torch-twin", "--points", "100"]) == 0
    capsys.readouterr()
    assert RunDir(rundir).stale("energy")
    assert main(_pipe(rundir, "--no-figures")) == 0
    out = capsys.readouterr().out
    assert "energy (" in out.split("stages run:")[1]
    assert not RunDir(rundir).stale("energy")
