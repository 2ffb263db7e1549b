"""A problem in a single user file on the command line: ``--problem-module FILE`` (and
``$LAVA_PINN_PROBLEM_MODULES``) registers it for every command, ``run.json`` records the file,
and ``report`` / ``energy`` / ``figures`` work from the run directory alone in a fresh process
without it. The file holds a PDE problem and the user's own activation for its network."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import REPO

import hardware.app.pipeline_cli  # noqa: F401  registers `pipeline`, `report`
import hardware.app.run_cli  # noqa: F401  registers `run`, `energy`
from hardware.app import usermodules
from hardware.app.cli import main
from hardware.app.rundir import RunDir, RunDirError
from lava_pinn.activations import ACTIVATIONS
from lava_pinn.problems import PROBLEMS

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PROBLEM_FILE = '''
"""A user's problem and model: the heat equation u_t = 4 u_xx / pi^2 on [-1, 1] x [0, 1],
u = cos(pi x / 2) e^-t, on a network with the user's own activation."""
import math

import torch
from torch import nn

from lava_pinn.activations import register_activation
from lava_pinn.models import MLPConfig
from lava_pinn.problems import Box, Problem, exact_conditions, grad, register_problem


class HalfTanh(nn.Module):
    """tanh(x / 2): the user's activation."""

    def forward(self, x):
        return torch.tanh(x / 2)


register_activation("{name}-act", HalfTanh)


@register_problem
class Heat1D(Problem):
    name = "{name}"
    inputs = ("x", "t")
    outputs = ("u",)
    description = "u_t = 4 u_xx / pi^2, u = cos(pi x / 2) e^-t"
    train_defaults = {{"adam_steps": 60, "lbfgs_steps": 0, "lr": 1e-2, "n_collocation": 64,
                       "n_boundary": 32}}

    @property
    def domain(self):
        return Box((-1.0, 0.0), (1.0, 1.0))

    def residual(self, x, u):
        g = grad(u[:, 0], x)
        return {{"pde": g[:, 1] - 4 * grad(g[:, 0], x)[:, 0] / math.pi**2}}

    def conditions(self, n, generator):
        ic = self.domain.sample_face(n, 1, 0, generator)
        bc = self.domain.sample_boundary(n, (0,), generator)
        return [exact_conditions(self, ic, "ic", "ic"), exact_conditions(self, bc, "bc", "bc")]

    def exact(self, x):
        return torch.cos(math.pi * x[:, :1] / 2) * torch.exp(-x[:, 1:2])

    def default_model(self):
        return MLPConfig(2, 1, (8, 8), "{name}-act")
'''

# The fastest pipeline: 60 Adam steps, T=4, one neuron per unit, the torch twin only.
FAST = ["--train", "--T", "4", "--representation", "direct", "--calibration", "light"]
FAST += ["--calibration-points", "64", "--scoring-points", "16", "--backend", "torch-twin"]
FAST += ["--profile", "loihi", "--profile", "cmos-45nm", "--no-figures", "--quiet"]


def _write_problem(tmp_path, name: str):
    path = tmp_path / f"{name.replace('-', '_')}.py"
    path.write_text(PROBLEM_FILE.format(name=name))
    return path


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """``lava-pinn ARGS`` in a fresh interpreter (nothing registered but the zoo)."""
    full = {k: v for k, v in os.environ.items() if k != usermodules.ENV_VAR}
    full.update({"PYTHONPATH": str(REPO), **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "hardware.app.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=full,
        timeout=300,
    )


@pytest.fixture(scope="module")
def user_run(tmp_path_factory):
    """`lava-pinn pipeline PROBLEM --out DIR --problem-module FILE`, in a fresh process."""
    tmp = tmp_path_factory.mktemp("user")
    path = _write_problem(tmp, "user-cos")
    out = tmp / "run"
    r = _cli("pipeline", "user-cos", "--out", str(out), "--problem-module", str(path), *FAST)
    assert r.returncode == 0, r.stderr
    return path, out, r


def test_pipeline_runs_a_problem_from_one_user_file(user_run):
    path, out, r = user_run
    assert "user-cos" in r.stdout and "SNN torch-twin" in r.stdout
    m = json.loads((out / "run.json").read_text())
    assert m["problem"] == "user-cos"
    assert m["problem_modules"] == [
        {"path": str(path.resolve()), "sha256": usermodules.file_sha256(path)}
    ]
    info = m["problem_info"]
    assert info["outputs"] == ["u"] and info["inputs"] == ["x", "t"]
    assert info["gauge_fields"] == []
    assert info["domain"] == {"low": [-1.0, 0.0], "high": [1.0, 1.0]}
    assert info["description"] == "u_t = 4 u_xx / pi^2, u = cos(pi x / 2) e^-t"
    assert "(user-cos-act)" in r.stdout or "user-cos-act" in m["stages"]["train"]["info"]["model"]


def test_report_and_energy_work_without_the_file(user_run, tmp_path):
    path, out, _ = user_run
    hidden = tmp_path / "elsewhere.py"
    path.rename(hidden)  # the user's code is gone: only the run directory is left
    try:
        r = _cli("report", str(out))
        assert r.returncode == 0, r.stderr
        assert "SNN torch-twin" in r.stdout and " u " in f" {r.stdout} "
        assert "no longer exists" in r.stderr  # said once, clearly, and not fatal
        assert "user-cos" in (out / "report.md").read_text()
        r = _cli("energy", str(out), "--profile", "loihi")
        assert r.returncode == 0, r.stderr
        assert "errors: u " in r.stdout
        r = _cli("figures", str(out))  # the energy figures, from the records alone
        assert r.returncode == 0, r.stderr
        assert (out / "figures" / "energy_pareto.png").is_file()
        # a command that needs the problem's code names the recorded file
        r = _cli("run", str(out), "--backend", "torch-twin")
        assert r.returncode == 2
        assert "unknown problem 'user-cos'" in r.stderr and str(path.resolve()) in r.stderr
        assert "hint: pass --problem-module FILE, the Python file that registers" in r.stderr
    finally:
        hidden.rename(path)


def test_later_commands_name_the_recorded_file_but_never_import_it(user_run):
    """Opening a run directory runs no code it names: a command that needs the problem's code
    says which file run.json records; given with --problem-module, it runs."""
    path, out, _ = user_run
    r = _cli("run", str(out), "--backend", "torch-twin")
    assert r.returncode == 2
    assert str(path.resolve()) in r.stderr and "--problem-module" in r.stderr
    r = _cli("--problem-module", str(path), "run", str(out), "--backend", "torch-twin")
    assert r.returncode == 0, r.stderr
    assert "user-cos: evaluation grid" in r.stdout and "problem module" not in r.stderr


def test_changed_file_is_said(user_run, tmp_path):
    path, out, _ = user_run
    original = path.read_text()
    try:
        path.write_text(original + "\n# edited\n")
        r = _cli("report", str(out))
        assert r.returncode == 0, r.stderr
        assert f"problem module {path.resolve()} has changed since" in r.stderr
    finally:
        path.write_text(original)


def test_environment_variable_and_option_after_or_before(tmp_path):
    a = _write_problem(tmp_path, "user-env-a")
    b = _write_problem(tmp_path, "user-env-b")
    r = _cli("problems", env={usermodules.ENV_VAR: os.pathsep.join([str(a), "", str(b)])})
    assert r.returncode == 0, r.stderr
    assert "user-env-a" in r.stdout and "user-env-b" in r.stdout
    r = _cli("--problem-module", str(a), "problems", f"--problem-module={b}")
    assert r.returncode == 0, r.stderr
    assert "user-env-a" in r.stdout and "user-env-b" in r.stdout


def test_report_without_record_or_code_is_a_clear_error(tmp_path):
    rd = RunDir(tmp_path / "old", create=True)
    rd._manifest["problem"] = "gone-problem"  # an older run directory: no problem_info
    rd._write_manifest()
    with pytest.raises(RunDirError, match="'gone-problem' is not registered here and run.json"):
        rd.problem_info()


def test_errors(tmp_path, capsys):
    assert main(["--problem-module", str(tmp_path / "nope.py"), "problems"]) == 2
    assert "nope.py does not exist" in capsys.readouterr().err

    bad = tmp_path / "bad.py"
    bad.write_text("import torch\n\nx = 1\nraise RuntimeError('no GPU here\\nsecond line')\n")
    assert main(["problems", "--problem-module", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"problem module {bad} (line 4) raised RuntimeError: no GPU here" in err
    assert "second line" not in err

    syntax = tmp_path / "syntax.py"
    syntax.write_text("def f(:\n")
    assert main(["problems", "--problem-module", str(syntax)]) == 2
    assert "(line 1) raised SyntaxError" in capsys.readouterr().err

    assert main(["problems", "--problem-module"]) == 2
    assert "--problem-module needs a FILE" in capsys.readouterr().err

    empty = tmp_path / "empty.py"
    empty.write_text("import math\n")
    with pytest.warns(UserWarning, match="empty.py registered nothing new"):
        assert main(["problems", "--problem-module", str(empty)]) == 0
    capsys.readouterr()


def test_in_process_load_is_once_and_not_recorded_after_the_command(tmp_path, capsys):
    path = _write_problem(tmp_path, "user-inproc")
    try:
        assert main(["problems", "--problem-module", str(path)]) == 0
        assert "user-inproc" in capsys.readouterr().out
        assert main(["problems", "--problem-module", str(path)]) == 0  # not registered twice
        capsys.readouterr()
        mod = usermodules.load(path)
        assert mod.registered == ("activation 'user-inproc-act'", "problem 'user-inproc'")
        assert usermodules.given() == []  # later run directories of this process: not recorded
        rd = RunDir(tmp_path / "later", create=True)
        rd.set_problem("regression-1d")
        assert "problem_modules" not in rd.manifest
    finally:
        PROBLEMS.unregister("user-inproc")
        ACTIVATIONS.unregister("user-inproc-act")


def test_split_argv_keeps_everything_after_double_dash():
    argv = ["a", "--problem-module", "f.py", "--", "--problem-module"]
    files, rest = usermodules.split_argv(argv)
    assert files == ["f.py"] and rest == ["a", "--", "--problem-module"]
