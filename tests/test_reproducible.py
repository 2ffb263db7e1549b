"""The same command run twice gives byte-identical artifacts and results (issue 19, deliverable
5): a small pipeline (regression-1d, Lava CPU simulator and torch twin) into two run
directories, every file compared byte for byte. Only ``run.json`` holds times (when each stage
finished, how long it took) and ``pipeline.log`` the lines printed with wall times; the first is
compared with those left out, the log not at all."""

from __future__ import annotations

import json

import pytest

import hardware.app.pipeline_cli  # noqa: F401  registers `pipeline`
from hardware.app.cli import main

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

TIMES = {"finished", "seconds", "wall_s"}  # in run.json only


def _without_times(obj, root: str):
    if isinstance(obj, dict):
        return {k: _without_times(v, root) for k, v in obj.items() if k not in TIMES}
    if isinstance(obj, list):
        return [_without_times(v, root) for v in obj]
    return obj.replace(root, "DIR") if isinstance(obj, str) else obj


def test_two_runs_of_one_command_give_the_same_bytes(tmp_path, capsys):
    cfg = tmp_path / "study.toml"
    cfg.write_text(TOML)
    dirs = [tmp_path / "first", tmp_path / "second"]
    for d in dirs:
        argv = ["pipeline", "regression-1d", "--out", str(d), "--config", str(cfg), "--quiet"]
        assert main(argv) == 0
    capsys.readouterr()
    a, b = dirs
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for name in ("network.h5", "snn.pt", "predictions.npz", "activity_lava-cpu.json"):
        assert a / name in [a / f for f in files], name
    assert any(f.parts[0] == "figures" for f in files)
    differ = [
        str(f)
        for f in files
        if f.name not in ("run.json", "pipeline.log", ".lock")
        and (a / f).read_bytes() != (b / f).read_bytes()
    ]
    assert not differ, f"not byte-identical across two runs: {differ}"
    ma = _without_times(json.loads((a / "run.json").read_text()), str(a))
    mb = _without_times(json.loads((b / "run.json").read_text()), str(b))
    assert ma == mb
