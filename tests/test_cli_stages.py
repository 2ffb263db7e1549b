"""Stage subcommands on one run directory: train --pretrained, convert, export, report; their
records in run.json, and one-line errors (exit 2, hint, no traceback) for bad input."""

from __future__ import annotations

import json

import pytest

import hardware.app.export_cli  # noqa: F401  registers `export`
import hardware.app.pipeline_cli  # noqa: F401  registers `pipeline`, `report`, `demo`
import hardware.app.run_cli  # noqa: F401  registers `run`, `energy`
from hardware.app.cli import main

FAST = ["--T", "8", "--representation", "direct", "--calibration", "light"]


def _one_line_error(capsys, *needles: str) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert "Traceback" not in err
    assert len(lines) == 2 and lines[0].startswith("lava-pinn: error:"), err
    assert lines[1].startswith("  hint:"), err
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    d = tmp_path_factory.mktemp("stages") / "x2"
    assert main(["train", "regression-1d", "--out", str(d), "--pretrained"]) == 0
    assert main(["convert", str(d), *FAST, "--calibration-points", "128"]) == 0
    return d


def test_train_pretrained_and_convert_record_stages(converted, capsys):
    m = json.loads((converted / "run.json").read_text())
    assert m["problem"] == "regression-1d"
    assert m["stages"]["train"]["options"]["source"] == "pretrained"
    opts = m["stages"]["convert"]["options"]
    assert opts["T"] == 8 and opts["representation"] == "direct" and opts["calibration"] == "light"
    assert (converted / "checkpoint.pt").is_file() and (converted / "snn.pt").is_file()
    from lava_pinn.conversion.network import SpikingNetwork

    snn = SpikingNetwork.load(converted / "snn.pt")
    assert snn.T == 8 and snn.metadata["problem"] == "regression-1d"


def test_export_then_run_twin_then_report(converted, tmp_path, capsys):
    assert main(["export", str(converted), "--scoring-points", "32"]) == 0
    out = capsys.readouterr().out
    assert "quantized" in out and "network.h5" in out
    import exporters

    art = exporters.load_artifact(converted / "network.h5")
    assert art.network.T == 8
    rec = json.loads((converted / "run.json").read_text())["stages"]["export"]
    assert rec["options"]["scoring_points"] == 32 and rec["info"]["files"] == ["network.h5"]
    assert main(["run", str(converted), "--backend", "torch-twin"]) == 0
    capsys.readouterr()
    assert main(["report", str(converted)]) == 0
    text = capsys.readouterr().out
    assert "SNN torch-twin" in text and "ANN (torch)" in text and "u vs exact" in text
    md = (converted / "report.md").read_text()
    assert md.startswith("# regression-1d") and "| SNN torch-twin |" in md


def test_export_with_two_weight_groups(converted, tmp_path, capsys):
    import shutil

    import exporters

    d = tmp_path / "two"
    shutil.copytree(converted, d)
    assert main(["export", str(d), "--scoring-points", "32", "--weight-groups", "2"]) == 0
    assert "x2 groups" in capsys.readouterr().out
    net = exporters.load(d / "network.h5")
    assert all(la.fine_weight is not None for la in (*net.hidden[1:], net.readout))
    rec = json.loads((d / "run.json").read_text())["stages"]["export"]
    assert rec["options"]["weight_groups"] == 2
    assert main(["export", str(d), "--netx", "--weight-groups", "2"]) == 2
    _one_line_error(capsys, "weight_groups")


def test_missing_artifact_names_the_creating_command(tmp_path, capsys):
    d = tmp_path / "empty"
    assert main(["train", "regression-1d", "--out", str(d), "--pretrained"]) == 0
    capsys.readouterr()
    assert main(["export", str(d)]) == 2
    _one_line_error(capsys, "snn.pt", f"lava-pinn convert {d}")
    assert main(["report", str(d)]) == 2
    _one_line_error(capsys, "predictions.npz", "lava-pinn run")


def test_bad_options_are_one_line_errors(converted, tmp_path, capsys):
    assert main(["convert", str(converted), "--neuron", "izhikevich"]) == 2
    _one_line_error(capsys, "izhikevich", "if, lif-hard, signed-if")
    assert main(["convert", str(converted), "--T", "0"]) == 2
    _one_line_error(capsys, "--T")
    assert main(["convert", str(converted), "--calibration-boundary", "1.5"]) == 2
    _one_line_error(capsys, "calibration_boundary", "[0, 1]")
    assert main(["convert", str(converted), "--placement", "-0.5"]) == 2
    _one_line_error(capsys, "placement", "[0, 1]")
    assert main(["convert", str(tmp_path / "nowhere")]) == 2
    _one_line_error(capsys, "does not exist", "lava-pinn pipeline")
    assert main(["pipeline", "no-such-pde", "--out", str(tmp_path / "p")]) == 2
    _one_line_error(capsys, "no-such-pde", "navier-stokes-tg")
    assert main(["pipeline", "regression-1d", "--out", str(tmp_path / "p"), "--redo", "x"]) == 2
    _one_line_error(capsys, "'x'", "convert")
    assert (
        main(["pipeline", "regression-1d", "--out", str(tmp_path / "p"), "--backend", "gpu"]) == 2
    )
    _one_line_error(capsys, "gpu", "lava-cpu")


def test_old_run_directory_says_how_to_recreate(tmp_path, capsys):
    d = tmp_path / "old"
    d.mkdir()
    (d / "run.json").write_text(
        json.dumps({"format": "lava-pinn-run", "format_version": 0, "problem": "kovasznay"})
    )
    assert main(["convert", str(d)]) == 2
    line = _one_line_error(capsys, "older lava-pinn")
    assert f"lava-pinn pipeline kovasznay --out {d} --redo all" in line
    assert main(["report", str(d)]) == 2
    _one_line_error(capsys, "older lava-pinn")


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(Exception, match="does not exist"):
        main(["--debug", "convert", str(tmp_path / "nowhere")])


def test_config_file_errors(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("lava_pionts = 3\n")
    assert (
        main(["pipeline", "regression-1d", "--out", str(tmp_path / "p"), "--config", str(bad)]) == 2
    )
    _one_line_error(capsys, "lava_pionts")
    bad.write_text("[convert]\nT = 'many'\n")
    assert (
        main(["pipeline", "regression-1d", "--out", str(tmp_path / "p"), "--config", str(bad)]) == 2
    )
    _one_line_error(capsys, "ConvertOptions.T")
    bad.write_text("this is not toml")
    assert (
        main(["pipeline", "regression-1d", "--out", str(tmp_path / "p"), "--config", str(bad)]) == 2
    )
    _one_line_error(capsys, "not valid TOML")


def test_config_options_of_another_representation_are_dropped_with_a_warning():
    import argparse

    from hardware.app.cli import convert_options

    base = {"representation": "pwl", "pieces": 8, "placement": 0.5}
    with pytest.warns(UserWarning, match=r"pieces=8, placement=0\.5 are not read by 'direct'"):
        opts = convert_options(argparse.Namespace(representation="direct"), base)
    assert (opts.representation, opts.pieces, opts.placement) == ("direct", None, None)
    # the same options as flags are the user's own choice: refused, not dropped
    with pytest.raises(ValueError, match="pieces=4: representation 'direct' does not use it"):
        convert_options(argparse.Namespace(representation="direct", pieces=4), base)
