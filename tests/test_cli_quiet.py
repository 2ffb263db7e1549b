"""Quiet, consistent output: "did you mean" for subcommands, options and TOML keys,
``--version``, a closed pipe, progress bars off without a terminal."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import REPO

import hardware.app.pipeline_cli  # noqa: F401  registers `pipeline`
from hardware.app.cli import main
from lava_pinn._version import __version__


def test_version():
    r = subprocess.run(
        [sys.executable, "-m", "hardware.app.cli", "--version"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"lava-pinn {__version__}"


def test_misspelt_subcommand_gets_a_suggestion(capsys):
    assert main(["pipline"]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'pipeline'?" in err and "Traceback" not in err


@pytest.mark.parametrize("arg", [["--peices", "3"], ["--peices=3"]])
def test_misspelt_option_gets_a_suggestion(capsys, tmp_path, arg):
    assert main(["convert", str(tmp_path), *arg]) == 2
    err = capsys.readouterr().err
    assert "--peices" in err and "did you mean '--pieces'?" in err
    assert "lava-pinn convert --help" in err


def test_misspelt_toml_key_gets_a_suggestion(capsys, tmp_path):
    cfg = tmp_path / "study.toml"
    cfg.write_text("lava_pionts = 16\n[convert]\nT = 8\n")
    argv = ["pipeline", "regression-1d", "--out", str(tmp_path / "x"), "--config", str(cfg)]
    assert main(argv) == 2
    assert "did you mean 'lava_points'?" in capsys.readouterr().err
    cfg.write_text("[convert]\npeices = 8\n")
    assert main(argv) == 2
    assert "did you mean 'pieces'?" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()  # refused before anything is written


def test_a_closed_pipe_ends_quietly():
    """`lava-pinn COMMAND | head -1`: no BrokenPipeError traceback, no error line."""
    code = (
        "import sys\n"
        "from hardware.app import cli\n"
        "def run(args):\n"
        "    for i in range(200000):\n"
        "        print(f'line {i}')\n"
        "    return 0\n"
        "cli.register_command('chatty', 'test', lambda p: None, run)\n"
        "sys.argv = ['lava-pinn', 'chatty']\n"
        "sys.exit(cli.main())\n"
    )
    r = subprocess.run(
        f"'{sys.executable}' -c \"$CODE\" | head -1",
        shell=True,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        env={**__import__("os").environ, "CODE": code},
    )
    assert r.stdout == "line 0\n"
    assert r.stderr == "", r.stderr


def test_progress_bars_off_without_a_terminal(capfd):
    from hardware.app.pipeline import _progress
    from lava_pinn.problems import get_problem
    from lava_pinn.training import TrainConfig, train

    assert not sys.stderr.isatty()  # pytest captures it
    with _progress(10, "stage", True) as bar:
        assert bar.disable
    prob = get_problem("regression-1d")
    train(prob, config=TrainConfig.for_problem(prob, adam_steps=3, lbfgs_steps=0), progress=True)
    err = capfd.readouterr().err
    assert "train regression-1d" not in err and "it/s" not in err


def test_one_spelling_per_option_old_spellings_warn():
    """`pipeline` takes repeated --backend / --profile as `run` / `energy` do; export's scoring
    points are --scoring-points everywhere (--calibration-points: conversion points)."""
    import hardware.app.export_cli  # noqa: F401  registers `export`
    from hardware.app.cli import build_parser

    parser = build_parser()
    base = ["pipeline", "regression-1d", "--out", "x"]
    args = parser.parse_args(
        [*base, "--backend", "torch-twin", "--backend", "lava-cpu", "--profile", "loihi"]
    )
    assert args.backends == ["torch-twin", "lava-cpu"] and args.profiles == ["loihi"]
    args = parser.parse_args([*base, "--scoring-points", "32", "--calibration-points", "64"])
    assert args.export_points == 32 and args.calibration_points == 64
    with pytest.warns(FutureWarning, match="--backends is deprecated.*use --backend B"):
        args = parser.parse_args([*base, "--backends", "torch-twin,lava-cpu"])
    assert args.backends == ["torch-twin", "lava-cpu"]
    with pytest.warns(FutureWarning, match="--export-points is deprecated"):
        assert parser.parse_args([*base, "--export-points", "32"]).export_points == 32
    with pytest.warns(FutureWarning, match="--profiles is deprecated"):
        assert parser.parse_args([*base, "--profiles", "loihi,cmos-45nm"]).profiles == [
            "loihi",
            "cmos-45nm",
        ]
    with pytest.warns(FutureWarning, match="--calibration-points is deprecated.*use --scoring"):
        args = parser.parse_args(["export", "x", "--calibration-points", "32"])
    assert args.scoring_points == 32
    assert parser.parse_args(["export", "x", "--scoring-points", "16"]).scoring_points == 16


def test_one_spelling_on_every_command_and_in_toml(tmp_path):
    """A stage option has the same flag on its own command and on `pipeline`, and its TOML
    key is that flag's name: the scoring points are --scoring-points / [export]
    scoring_points, the Lava batch --lava-batch / lava_batch (run, ladder, pipeline), the
    watchdog --timeout-s / timeout_s (run, pipeline)."""
    import dataclasses

    import hardware.app.export_cli  # noqa: F401  registers `export`
    import hardware.app.ladder_cli  # noqa: F401  registers `ladder`
    import hardware.app.run_cli  # noqa: F401  registers `run`
    from hardware.app.cli import build_parser
    from hardware.app.pipeline_cli import read_config
    from hardware.app.stages import ExportOptions

    parser = build_parser()
    flags = {
        name: {o for a in sub._actions for o in a.option_strings if a.help != "==SUPPRESS=="}
        for name, sub in parser._command_parsers.items()
    }
    assert "--scoring-points" in flags["export"] & flags["pipeline"]
    assert "--lava-batch" in flags["run"] & flags["pipeline"] & flags["ladder"]
    assert "--batch" not in flags["run"] | flags["ladder"]  # kept working, hidden (below)
    assert [f.name for f in dataclasses.fields(ExportOptions)][0] == "scoring_points"
    with pytest.warns(FutureWarning, match="--batch is deprecated.*use --lava-batch"):
        assert parser.parse_args(["run", "x", "--batch", "4"]).batch == 4
    assert parser.parse_args(["run", "x", "--lava-batch", "4"]).batch == 4
    assert "--timeout-s" in flags["run"] & flags["pipeline"]  # TOML: timeout_s
    assert "--timeout" not in flags["run"] | flags["pipeline"]
    for cmd in (["run", "x"], ["pipeline", "regression-1d", "--out", "x"]):
        assert parser.parse_args([*cmd, "--timeout-s", "30"]).timeout_s == 30.0
        with pytest.warns(FutureWarning, match="--timeout is deprecated.*use --timeout-s"):
            assert parser.parse_args([*cmd, "--timeout", "30"]).timeout_s == 30.0

    cfg = tmp_path / "old.toml"
    cfg.write_text("[export]\ncalibration_points = 32\n")
    with pytest.warns(FutureWarning, match=r"\[export\] calibration_points is deprecated.*"
                      r"write scoring_points"):  # fmt: skip
        assert read_config(cfg)["export"] == {"scoring_points": 32}
    cfg.write_text("[export]\ncalibration_points = 32\nscoring_points = 16\n")
    with pytest.raises(Exception, match="both calibration_points and scoring_points"):
        read_config(cfg)


def test_a_run_directory_recorded_before_the_rename_is_still_done(tmp_path):
    """run.json written with [export] calibration_points: the same options, export not redone."""
    from hardware.app.rundir import RunDir
    from hardware.app.stages import ExportOptions

    rd = RunDir(tmp_path / "run", create=True)
    rd.record("export", {**ExportOptions().to_dict()})
    assert rd.is_done("export", ExportOptions().to_dict())
    old = dict(ExportOptions().to_dict())
    old["calibration_points"] = old.pop("scoring_points")
    rd.record("export", old)
    assert rd.is_done("export", ExportOptions().to_dict())
    assert not rd.is_done("export", ExportOptions(scoring_points=7).to_dict())


def test_pipeline_notice_one_line_per_kind_in_full():
    """A stage's warnings on the terminal: one line per kind, the first in full (layer names
    as they are, never folded to 'layers k'), how many more alike, dependencies' own left out."""
    import io
    import types
    import warnings

    from hardware.app.pipeline import LOG_FILE, _notice

    def caught(*items):
        out = []
        for text, cat, filename in items:
            out.append(warnings.WarningMessage(text, cat, filename, 1))
        return out

    res = "Loihi 2 resource check: layer0, layer1 run neuron 'if', which Loihi 2 runs only"
    q = types.SimpleNamespace(
        caught=caught(
            (UserWarning("layer1: 978 of 16384 weights round to 0 (1.3%)"), UserWarning, "x.py"),
            (UserWarning("layer2: 1489 of 16384 weights round to 0 (1.8%)"), UserWarning, "x.py"),
            (UserWarning(res), UserWarning, "y.py"),
            (ImportWarning("pandas not found"), ImportWarning, "/site-packages/networkx/c.py"),
            (UserWarning("a dependency's own"), UserWarning, "/x/site-packages/dep/m.py"),
        )
    )
    buf = io.StringIO()
    _notice(q, buf)
    assert buf.getvalue().splitlines() == [
        "    warning: UserWarning: layer1: 978 of 16384 weights round to 0 (1.3%) "
        f"(and 1 more like it in {LOG_FILE})",
        f"    warning: UserWarning: {res}",
    ]
