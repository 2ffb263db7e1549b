"""Two commands writing one run directory at once: the second refuses at once, naming the
holder's PID and command line (or waits with $LAVA_PINN_WAIT); a lock left by a SIGKILLed
process is taken over. Real processes throughout (issue 19, deliverable 4)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import REPO

from hardware.app import rundir_lock
from hardware.app.rundir import RunDir

ENV = {**os.environ, "PYTHONPATH": str(REPO)}

HOLDER = """
import sys
from hardware.app.rundir import RunDir

rd = RunDir(sys.argv[1], create=True)
with rd.writing("stage convert"):
    print("held", flush=True)
    sys.stdin.readline()  # until the test says go
"""


def _holder(tmp_path, rundir):
    script = tmp_path / "holder.py"
    script.write_text(HOLDER)
    p = subprocess.Popen(
        [sys.executable, str(script), str(rundir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=ENV,
        cwd=REPO,
    )
    assert p.stdout.readline().strip() == "held"
    return p


def _cli(*args, env=None, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "hardware.app.cli", *args],
        capture_output=True,
        text=True,
        env=env or ENV,
        cwd=REPO,
        timeout=timeout,
    )


def test_second_writer_refuses_at_once_naming_the_holder(tmp_path):
    rundir = tmp_path / "run"
    holder = _holder(tmp_path, rundir)
    try:
        t0 = time.monotonic()
        r = _cli("train", "regression-1d", "--pretrained", "--out", str(rundir))
        assert r.returncode == 2, r.stderr
        assert time.monotonic() - t0 < 60
        err = r.stderr
        assert f"is being written by PID {holder.pid}" in err, err
        assert "holder.py" in err and "stage convert" in err and "LAVA_PINN_WAIT" in err
        assert not (rundir / "checkpoint.pt").exists()  # nothing written beside the holder
        assert rundir_lock.holder(rundir)["pid"] == holder.pid
    finally:
        holder.communicate("go\n", timeout=30)
    assert holder.returncode == 0
    assert rundir_lock.holder(rundir) is None  # released: nobody holds it
    r = _cli("train", "regression-1d", "--pretrained", "--out", str(rundir))
    assert r.returncode == 0, r.stderr


def test_second_writer_waits_with_lava_pinn_wait(tmp_path):
    rundir = tmp_path / "run"
    holder = _holder(tmp_path, rundir)
    cmd = [sys.executable, "-m", "hardware.app.cli", "train", "regression-1d", "--pretrained"]
    waiter = subprocess.Popen(
        [*cmd, "--out", str(rundir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**ENV, "LAVA_PINN_WAIT": "120"},
        cwd=REPO,
    )
    time.sleep(8)  # the waiter has started and found the lock taken
    assert waiter.poll() is None, waiter.communicate()
    holder.communicate("go\n", timeout=30)
    out, err = waiter.communicate(timeout=120)
    assert waiter.returncode == 0, err
    assert (rundir / "checkpoint.pt").is_file()


def test_lock_of_a_sigkilled_holder_is_taken_over(tmp_path):
    rundir = tmp_path / "run"
    holder = _holder(tmp_path, rundir)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=30)
    assert rundir_lock.holder(rundir)["pid"] == holder.pid  # its record is still in the file
    r = _cli("train", "regression-1d", "--pretrained", "--out", str(rundir))
    assert r.returncode == 0, r.stderr
    assert RunDir(rundir).stage("train")["by"].startswith("lava-pinn train regression-1d")


@pytest.mark.lava
def test_two_pipelines_on_one_directory_never_interleave(tmp_path):
    cfg = tmp_path / "study.toml"
    cfg.write_text(
        "lava_points = 16\nlava_batch = 16\nfield_grid = 4\nsweep_T = [4, 8]\n"
        'sweep_points = 32\nprofiles = ["cmos-45nm"]\n[convert]\nT = 8\n'
        'representation = "direct"\ncalibration = "light"\ncalibration_points = 128\n'
        "[export]\nscoring_points = 32\n"
    )
    rundir = tmp_path / "run"
    argv = ["pipeline", "regression-1d", "--out", str(rundir), "--config", str(cfg), "--quiet"]
    first = subprocess.Popen(
        [sys.executable, "-m", "hardware.app.cli", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
        cwd=REPO,
    )
    deadline = time.monotonic() + 120
    while (rundir_lock.holder(rundir) or {}).get("pid") != first.pid:
        assert time.monotonic() < deadline and first.poll() is None, first.communicate()
        time.sleep(0.1)
    second = _cli(*argv)
    assert second.returncode == 2
    assert f"is being written by PID {first.pid} (`lava-pinn pipeline regression-1d" in (
        second.stderr
    )
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert "stages run: train" in out  # the first one ran every stage, undisturbed
