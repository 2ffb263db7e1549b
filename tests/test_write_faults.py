"""A full disk or a write error during export or a stage leaves the previous artifacts intact
and no half-written file (issue 19, deliverable 5): real commands in a subprocess under a small
file-size limit (``RLIMIT_FSIZE``: writes past it fail with EFBIG, as on a full disk), and an
injected ENOSPC."""

from __future__ import annotations

import errno
import hashlib
import os
import resource
import shutil
import subprocess
import sys

import pytest
from conftest import REPO

import hardware.app.export_cli  # noqa: F401  registers `export`
import hardware.app.run_cli  # noqa: F401  registers `run`, `energy`
from hardware.app.cli import main

LIMIT = 20_000  # bytes: network.h5 and predictions.npz are larger, the activity files smaller


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    d = tmp_path_factory.mktemp("faults") / "run"
    assert main(["train", "regression-1d", "--pretrained", "--out", str(d)]) == 0
    conv = ["--T", "8", "--representation", "direct", "--calibration", "light"]
    assert main(["convert", str(d), *conv, "--calibration-points", "64"]) == 0
    assert main(["export", str(d), "--scoring-points", "16"]) == 0
    assert main(["run", str(d), "--backend", "torch-twin", "--points", "100"]) == 0
    assert main(["energy", str(d), "--profile", "loihi"]) == 0
    return d


@pytest.fixture
def rundir(made, tmp_path):
    d = tmp_path / "run"
    shutil.copytree(made, d)
    return d


def _digests(d) -> dict[str, str]:
    return {
        str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(d.rglob("*"))
        if p.is_file() and p.name != ".lock"
    }


def _limited(*args: str) -> subprocess.CompletedProcess:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))

    return subprocess.run(
        [sys.executable, "-m", "hardware.app.cli", *args],
        preexec_fn=limit,
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=300,
    )


def test_export_that_cannot_write_keeps_the_previous_artifact(rundir):
    before = _digests(rundir)
    assert (rundir / "network.h5").stat().st_size > LIMIT
    r = _limited("export", str(rundir), "--scoring-points", "32")
    assert r.returncode == 2, r.stderr
    assert f"could not write {rundir / 'network.h5'} (File too large)" in r.stderr
    assert "free disk space" in r.stderr and "Traceback" not in r.stderr
    assert _digests(rundir) == before  # network.h5, run.json: as they were; no temporary file


def test_run_stage_that_cannot_write_keeps_every_previous_file(rundir):
    before = _digests(rundir)
    assert (rundir / "predictions.npz").stat().st_size > LIMIT
    assert (rundir / "activity_torch-twin.json").stat().st_size < LIMIT
    r = _limited("run", str(rundir), "--backend", "torch-twin", "--points", "200")
    assert r.returncode == 2, r.stderr
    assert f"File too large: '{rundir / 'predictions.npz'}'" in r.stderr, r.stderr
    # the activity file (small enough to write) is not replaced either: all or none
    assert _digests(rundir) == before


def test_injected_disk_full_during_energy_keeps_the_previous_report(rundir, monkeypatch, capsys):
    before = _digests(rundir)

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)  # every atomic write syncs before it renames
    assert main(["energy", str(rundir), "--profile", "cmos-45nm"]) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and "free disk space" in err
    monkeypatch.undo()
    assert _digests(rundir) == before
    assert main(["energy", str(rundir), "--profile", "cmos-45nm"]) == 0  # disk free again
