"""The run directory: manifest, stage records, artifacts, predictions, errors that name the fix."""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pytest

from hardware.app.rundir import FORMAT_VERSION, RunDir, RunDirError
from lava_pinn.checkpoint import atomic_write_bytes


def test_missing_folder_names_the_command(tmp_path):
    with pytest.raises(RunDirError, match="lava-pinn pipeline PROBLEM --out"):
        RunDir(tmp_path / "nope")


def test_stage_record_and_is_done(tmp_path):
    rd = RunDir(tmp_path / "run", create=True)
    rd.set_problem("regression-1d")
    art = rd.file("snn")
    assert not rd.is_done("convert", {"T": 64}, art)
    art.write_bytes(b"x")
    rd.record("convert", {"T": 64, "dims": (1, 2)}, {"seconds": np.float64(1.5)})
    again = RunDir(tmp_path / "run")
    assert again.problem == "regression-1d"
    assert again.is_done("convert", {"T": 64, "dims": (1, 2)}, art)
    assert not again.is_done("convert", {"T": 32}, art)
    assert again.stage("convert")["info"] == {"seconds": 1.5}
    art.unlink()
    assert not again.is_done("convert", {"T": 64, "dims": (1, 2)}, art)
    again.forget("convert")
    assert again.stage("convert") is None


def test_one_problem_per_directory(tmp_path):
    rd = RunDir(tmp_path, create=True)
    rd.set_problem("poisson-2d")
    with pytest.raises(RunDirError, match="holds a run of 'poisson-2d'"):
        rd.set_problem("burgers-1d")


def test_require_names_the_creating_command(tmp_path):
    rd = RunDir(tmp_path, create=True)
    with pytest.raises(RunDirError, match=r"network.h5 .* missing; run `lava-pinn export"):
        rd.require("network")
    with pytest.raises(RunDirError, match="--backend lava-cpu"):
        rd.require("activity", backend="lava-cpu")


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("{not json", "unreadable run manifest"),
        (json.dumps({"format": "other"}), "not a lava-pinn run manifest"),
        (
            json.dumps({"format": "lava-pinn-run", "format_version": 0, "stages": {}}),
            "older lava-pinn.*--redo all",
        ),
        (
            json.dumps({"format": "lava-pinn-run", "format_version": FORMAT_VERSION + 1}),
            "newer lava-pinn",
        ),
    ],
)
def test_bad_manifest(tmp_path, content, match):
    (tmp_path / "run.json").write_text(content)
    with pytest.raises(RunDirError, match=match):
        RunDir(tmp_path)


def test_predictions_merge_and_reset_on_new_points(tmp_path):
    rd = RunDir(tmp_path, create=True)
    x = np.linspace(0, 1, 5)[:, None]
    rd.save_predictions(x=x, ann=x**2)
    rd.save_predictions(x=x, snn_twin=x**2 + 1)
    p = rd.load_predictions()
    assert sorted(p) == ["ann", "snn_twin", "x"]
    rd.save_predictions(x=x + 1, ann=x)
    assert sorted(rd.load_predictions()) == ["ann", "x"]


def test_atomic_write_gives_umask_mode(tmp_path):
    p = atomic_write_bytes(tmp_path / "f.bin", b"abc")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~umask
