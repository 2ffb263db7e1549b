"""`lava-pinn pipeline` end to end on regression-1d (real conversion, export, Lava run, energy,
figures, report), with a Ctrl-C injected after the Lava stage, resuming, skipping and --redo."""

from __future__ import annotations

import json

import numpy as np
import pytest

import hardware.app.export_cli  # noqa: F401  registers `export`
import hardware.app.pipeline_cli  # noqa: F401  registers `pipeline`, `report`, `demo`
import hardware.app.run_cli  # noqa: F401  registers `run`, `energy`
from exporters.runtime import lava_children
from hardware.app.cli import build_parser, main
from hardware.app.pipeline import STAGE_NAMES, run_pipeline
from hardware.app.pipeline_cli import build_config

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


def _config(out, *flags):
    cfg = out.parent / "study.toml"
    cfg.write_text(TOML)
    args = build_parser().parse_args(
        ["pipeline", "regression-1d", "--out", str(out), "--config", str(cfg), "--quiet", *flags]
    )
    return build_config(args)


class Stop(KeyboardInterrupt):
    pass


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A pipeline interrupted (Ctrl-C) right after the Lava run stage, as a user would."""
    out = tmp_path_factory.mktemp("pipe") / "x2"

    def interrupt(stage: str) -> None:
        if stage == "run":
            raise Stop()

    with pytest.raises(KeyboardInterrupt):
        run_pipeline(_config(out), progress=False, after_stage=interrupt)
    return out


def test_interrupt_keeps_finished_artifacts_and_no_lava_process(run_dir):
    assert lava_children() == set()
    m = json.loads((run_dir / "run.json").read_text())
    assert set(m["stages"]) == {"train", "convert", "export", "run"}
    import exporters
    from lava_pinn.conversion.network import SpikingNetwork

    assert SpikingNetwork.load(run_dir / "snn.pt").T == 8
    assert exporters.load(run_dir / "network.h5").T == 8
    with np.load(run_dir / "predictions.npz") as z:
        assert {"x", "exact", "ann", "snn_torch_twin", "snn_lava_cpu"} <= set(z.files)
        lava, twin = z["snn_lava_cpu"], z["snn_torch_twin"]
    rows = np.isfinite(lava).all(axis=1)
    assert rows.sum() == 16 and np.isfinite(twin).all()
    assert np.array_equal(lava[rows], twin[rows])  # Lava fixed_pt == torch twin, bit for bit
    assert not (run_dir / "energy.json").exists()
    assert not list(run_dir.glob(".*.tmp"))  # nothing half-written


def test_resume_skips_finished_stages_and_completes(run_dir, capsys):
    ctx = run_pipeline(_config(run_dir), progress=False)
    assert ctx.skipped == ["train", "convert", "export", "run"]
    assert ctx.ran == ["energy", "figures", "report"]
    assert lava_children() == set()
    for name in ("energy.json", "energy.md", "energy.tex", "report.md", "pipeline.log"):
        assert (run_dir / name).is_file(), name
    figs = run_dir / "figures"
    for name in ("fields.png", "raster.png", "error_vs_T.png", "pareto.png", "figures.npz"):
        assert (figs / name).is_file(), name
    with np.load(figs / "figures.npz") as z:
        assert json.loads(str(z["meta"]))["sweep"]["rows"]["T"] == [4, 8]
        assert z["field_x"].shape == (17, 1)
        assert np.isfinite(z["field_snn_lava_cpu"]).all()
    md = (run_dir / "report.md").read_text()
    assert "| SNN lava-cpu | 16 |" in md and "figures/pareto.png" in md
    assert "bit-exact" in md


def test_rerun_is_a_no_op_and_redo_reruns_downstream(run_dir, capsys):
    ctx = run_pipeline(_config(run_dir), progress=False)
    assert ctx.ran == [] and ctx.skipped == list(STAGE_NAMES)
    ctx = run_pipeline(_config(run_dir, "--redo", "report"), progress=False)
    assert ctx.ran == ["report"]
    # a changed option of one stage reruns that stage and the ones after it, not the earlier ones
    ctx = run_pipeline(_config(run_dir, "--profile", "cmos-45nm", "--no-figures"), progress=False)
    assert ctx.ran == ["energy", "report"]


def test_cli_prints_the_summary_table(run_dir, capsys):
    cfg = run_dir.parent / "study.toml"
    argv = ["pipeline", "regression-1d", "--out", str(run_dir), "--config", str(cfg), "--quiet"]
    assert main([*argv, "--profile", "cmos-45nm", "--no-figures"]) == 0
    out = capsys.readouterr().out
    for needle in (
        "u vs exact",
        "u vs ANN",
        "spike rate",
        "SNN lava-cpu",
        "SNN torch-twin",
        "ANN (torch)",
        "energy per inference",
        "cmos-45nm",
        str(run_dir / "network.h5"),
        str(run_dir / "report.md"),
        "kept from before: train, convert, export, run, energy, report",
    ):
        assert needle in out, needle


def test_stage_after_changed_upstream_is_redone(run_dir, capsys):
    # `lava-pinn convert DIR` by hand with other options: the pipeline keeps that snn.pt (made
    # by hand, not named by --redo) and redoes what was made from the one before
    argv = ["convert", str(run_dir), "--T", "4", "--representation", "direct", "--calibration"]
    assert main([*argv, "light", "--calibration-points", "64"]) == 0
    capsys.readouterr()
    config = _config(run_dir, "--no-figures", "--backend", "torch-twin")
    ctx = run_pipeline(config, progress=False)
    assert ctx.ran == ["export", "run", "energy", "report"]
    err = capsys.readouterr().err
    assert "kept snn.pt made by hand (`lava-pinn convert" in err and "--redo convert" in err
    import exporters

    assert exporters.load(run_dir / "network.h5").T == 4  # exported from the kept snn.pt
    # --redo naming it replaces it with the pipeline's, and what follows is redone
    ctx = run_pipeline(_config(run_dir, "--no-figures", "--redo", "convert"), progress=False)
    assert ctx.ran == ["convert", "export", "run", "energy", "report"]
    assert exporters.load(run_dir / "network.h5").T == 8


def test_report_into_a_closed_pipe_ends_quietly(run_dir):
    """`lava-pinn report DIR | head -1`: the first line, no BrokenPipeError, no error line."""
    import os
    import subprocess
    import sys

    from conftest import REPO

    r = subprocess.run(
        f"'{sys.executable}' -m hardware.app.cli report '{run_dir}' | head -1",
        shell=True,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert r.stdout.count("\n") == 1, r.stdout
    assert "BrokenPipe" not in r.stderr and "error" not in r.stderr, r.stderr
    log = (run_dir / "pipeline.log").read_text()
    assert "pandas not found" not in log  # a dependency's import notice is not the user's
