"""The `lava-pinn problems` and `lava-pinn train` subcommands, error handling and the registry."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import REPO

from hardware.app.cli import COMMANDS, main, register_command
from lava_pinn.checkpoint import load_checkpoint


def test_problems_listing(capsys):
    assert main(["problems"]) == 0
    out = capsys.readouterr().out
    for name in ("regression-1d", "burgers-1d", "navier-stokes-tg", "kovasznay"):
        assert name in out
    assert "(x,y,t) -> (u,v,p)" in out and "3-64-64-64-64-64-64-3 tanh" in out
    assert main(["problems", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["name"] for r in rows} >= {"poisson-2d", "heat-2d-separable"}


def test_tiny_train_run(tmp_path, capsys):
    out = tmp_path / "run"
    argv = [
        "train",
        "poisson-2d",
        "--out",
        str(out),
        "--adam-steps",
        "30",
        "--lbfgs-steps",
        "0",
        "--width",
        "8",
        "--depth",
        "2",
        "--seed",
        "3",
        "--quiet",
        "--hard-bc",
    ]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "rel. L2" in text and "checkpoint" in text
    ck = load_checkpoint(out / "checkpoint.pt")
    assert ck.problem == "poisson-2d" and ck.hard_bc is True
    assert ck.config.widths == (8, 8) and ck.training["seed"] == 3


def test_unknown_problem_exits_2_with_the_list(tmp_path, capsys):
    assert main(["train", "no-such-pde", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 2 and "Traceback" not in err
    assert "no-such-pde" in lines[0] and "burgers-1d" in lines[0]
    assert lines[1].strip().startswith("hint:")


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--adam-steps", "-5"], "adam_steps"),
        (["--dtype", "float16"], "float16"),
        (["--activation", "swish"], "swish"),
        (["--width", "0"], "positive integer"),
    ],
)
def test_bad_options_exit_2(tmp_path, capsys, extra, needle):
    assert main(["train", "poisson-2d", "--out", str(tmp_path), "--quiet", *extra]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_debug_shows_the_exception(tmp_path):
    with pytest.raises(KeyError):
        main(["--debug", "train", "no-such-pde", "--out", str(tmp_path)])


def test_missing_command_and_unknown_command(capsys):
    assert main([]) == 2
    assert main(["frobnicate"]) == 2
    assert "frobnicate" in capsys.readouterr().err


def test_commands_can_be_registered(capsys):
    def add(p):
        p.add_argument("--n", type=int, default=1)

    def run(args):
        print(f"hello {args.n}")
        return 0

    register_command("test-hello", "say hello", add, run)
    try:
        assert main(["test-hello", "--n", "4"]) == 0
        assert "hello 4" in capsys.readouterr().out
        with pytest.raises(ValueError, match="already registered"):
            register_command("test-hello", "again", add, run)
    finally:
        COMMANDS._items.pop("test-hello", None)


def test_python_dash_m_works():
    res = subprocess.run(
        [sys.executable, "-m", "hardware.app.cli", "problems"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0 and "kovasznay" in res.stdout


def test_plugin_modules_register_commands_and_missing_ones_warn(monkeypatch, tmp_path, capsys):
    import hardware.app.cli as cli

    mod = tmp_path / "h1_cli_plugin.py"
    mod.write_text(
        "from hardware.app.cli import register_command\n"
        "register_command('test-plugin', 'demo', lambda p: None,\n"
        "                 lambda a: print('plugin ran') or 0)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(cli, "PLUGIN_MODULES", ("h1_cli_plugin", "no_such_plugin_module"))
    try:
        with pytest.warns(UserWarning, match="no_such_plugin_module"):
            assert main(["test-plugin"]) == 0
        assert "plugin ran" in capsys.readouterr().out
    finally:
        COMMANDS._items.pop("test-plugin", None)
        sys.modules.pop("h1_cli_plugin", None)
