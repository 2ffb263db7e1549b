"""`lava-pinn run` and `lava-pinn energy` on a run directory made from the pretrained
regression-1d checkpoint: files written, numbers consistent, LaTeX sound, errors that name the
command to run."""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import numpy as np
import pytest

import hardware.app.run_cli  # noqa: F401 - registers `run` and `energy` (entry point in installs)
from exporters.runtime import lava_children
from hardware import reports
from hardware.app.cli import main
from hardware.app.rundir import RunDir
from hardware.costing import load_activity

T = 16


@pytest.fixture(scope="module")
def snn():
    """regression-1d converted the cheap way (direct, no calibration): a few seconds."""
    import lava_pinn
    from lava_pinn.checkpoint import load_pretrained

    return lava_pinn.convert(
        load_pretrained("regression-1d"), None, T=T, representation="direct", calibration="none"
    )


def _rundir(path, snn, *, with_snn=True) -> RunDir:
    from lava_pinn.checkpoint import pretrained_path

    rd = RunDir(path, create=True)
    rd.set_problem("regression-1d")
    shutil.copy(pretrained_path("regression-1d"), rd.file("checkpoint"))
    if with_snn:
        snn.save(rd.file("snn"))
    return rd


def _export(rd: RunDir, snn) -> None:
    artifact = pytest.importorskip("exporters.artifact", reason="exporters.artifact not built")
    import torch

    from lava_pinn.problems import get_problem

    x_cal = get_problem("regression-1d").domain.sample(256, torch.Generator().manual_seed(0))
    artifact.export(snn, rd.file("network"), calibration_inputs=x_cal)


def test_run_torch_float_then_energy_writes_everything(tmp_path, snn, capsys):
    rd = _rundir(tmp_path / "run", snn)
    assert main(["run", str(rd.path), "--backend", "torch-float"]) == 0
    out = capsys.readouterr().out
    assert "torch-float" in out and "rel. L2 vs exact" in out
    pred = RunDir(rd.path).load_predictions()
    assert set(pred) == {"x", "exact", "ann", "snn_torch_float"}
    assert pred["x"].shape == (1001, 1) and pred["snn_torch_float"].shape == (1001, 1)
    assert np.isfinite(pred["snn_torch_float"]).all()  # torch backends: the whole grid
    ann_err = np.linalg.norm(pred["ann"] - pred["exact"]) / np.linalg.norm(pred["exact"])
    assert ann_err < 0.01
    rec = load_activity(rd.file("activity", backend="torch-float"))
    assert rec.activity.n_samples == 1001 and rec.activity.T == T
    assert rec.ann.widths == (1, 64, 64, 64, 64, 1)  # the converted ANN, from metadata
    stage = RunDir(rd.path).stage("run")
    assert stage["options"]["backends"] == ["torch-float"]
    assert set(stage["info"]["torch-float"]["versions"]) >= {"torch", "lava-nc", "lava-pinn"}

    assert main(["energy", str(rd.path), "--profile", "loihi", "--profile", "cmos-45nm"]) == 0
    out = capsys.readouterr().out
    assert "loihi" in out and "ANN" in out and "errors: u" in out
    for name in ("energy.json", "energy_layers.csv", "energy_totals.csv", "energy.md"):
        assert (rd.path / name).is_file(), name
    for name in ("energy_firing_rates.png", "energy_pareto.png"):
        assert (rd.path / "figures" / name).stat().st_size > 1000, name
    data = json.loads((rd.path / "energy.json").read_text())
    assert [e["profile"] for e in data["estimates"]] == ["loihi", "cmos-45nm"]
    assert data["ann"]["widths"] == [1, 64, 64, 64, 64, 1]
    err_u = data["errors"]["u"]
    assert err_u == pytest.approx(stage["info"]["torch-float"]["rel_l2"]["u"], rel=1e-12)
    md = (rd.path / "energy.md").read_text()
    assert "E_ANN" in md and "Effective_ACs" in md
    tex = (rd.path / "energy.tex").read_text()
    assert reports.latex_problems(tex) == []
    assert RunDir(rd.path).stage("energy")["options"]["profiles"] == ["loihi", "cmos-45nm"]


def _tex_engine() -> str | None:
    return next((e for e in ("pdflatex", "lualatex", "tectonic") if shutil.which(e)), None)


def _compile(tex: str, tmp_path) -> None:
    """Compile ``tex`` in a minimal document where a TeX engine exists, else skip."""
    engine = _tex_engine()
    if engine is None:
        pytest.skip("no TeX engine (pdflatex, lualatex, tectonic) on PATH; checked structurally")
    doc = tmp_path / "t.tex"  # pragma: no cover - only where TeX is installed
    doc.write_text(
        "\\documentclass{article}\\usepackage{booktabs}\\begin{document}\n"
        + tex
        + "\\end{document}\n"
    )
    cmd = (
        [engine, doc.name]
        if engine == "tectonic"
        else [engine, "-interaction=nonstopmode", doc.name]
    )
    r = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-2000:]


def test_latex_table_is_sound_and_compiles_where_a_tex_engine_exists(tmp_path):
    from hardware.activity import SNNActivity
    from hardware.energy import estimate_energy

    act = SNNActivity.from_arrays(
        [np.ones((4, 2)), np.ones((1, 4))], "if", [np.array([3.0, 0, 1, 2]), None], 2, 4
    )
    rep = estimate_energy(act, errors={"u_x": 0.01}, label="a_b & 50% #1")
    tex = reports.to_latex(rep, label="tab:e")
    assert reports.latex_problems(tex) == []
    assert reports.latex_problems(r"\begin{table}\begin{tabular}{rr}\toprule a\\ \end{table}")
    assert reports.latex_problems(
        r"\begin{tabular}{rr}\toprule a & b & c \\ \midrule \bottomrule\end{tabular}"
    )
    _compile(tex, tmp_path)


def test_committed_energy_table_is_sound(tmp_path):
    """docs/results/energy.tex (benchmarks/energy.py) is well formed, and compiles with TeX."""
    from conftest import REPO

    path = REPO / "docs" / "results" / "energy.tex"
    if not path.is_file():
        pytest.skip("docs/results/energy.tex not generated yet (benchmarks/energy.py)")
    tex = path.read_text()
    assert reports.latex_problems(tex) == []
    assert tex.count(r"\toprule") == tex.count(r"\begin{tabular}") >= 2
    _compile(tex, tmp_path)


@pytest.mark.lava
@pytest.mark.filterwarnings("ignore::hardware.resources.LoihiResourceWarning")  # IF neurons
def test_run_twin_and_lava_cpu_agree_then_energy(tmp_path, snn, capsys):
    pytest.importorskip("lava.magma.core.process.process")
    rd = _rundir(tmp_path / "run", snn, with_snn=False)
    _export(rd, snn)
    before = lava_children()
    argv = ["run", str(rd.path), "--backend", "torch-twin", "--backend", "lava-cpu"]
    assert main([*argv, "--points", "6", "--lava-batch", "3"]) == 0
    deadline = time.monotonic() + 5
    while lava_children() - before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not (lava_children() - before), "a Lava worker outlived `lava-pinn run`"
    pred = RunDir(rd.path).load_predictions()
    twin, lava = pred["snn_torch_twin"], pred["snn_lava_cpu"]
    rows = np.isfinite(lava).all(axis=1)
    assert rows.sum() == 6 and np.array_equal(twin[rows], lava[rows])
    a = load_activity(rd.file("activity", backend="torch-twin")).activity
    b = load_activity(rd.file("activity", backend="lava-cpu")).activity
    rec = load_activity(rd.file("activity", backend="lava-cpu"))
    assert rec.ann.widths == (1, 64, 64, 64, 64, 1)  # from the artifact's metadata
    for ca, cb in zip(a.spike_counts, b.spike_counts, strict=True):
        assert (ca is None and cb is None) or np.array_equal(ca, cb)
    capsys.readouterr()
    assert main(["energy", str(rd.path)]) == 0  # default: lava-cpu's activity
    data = json.loads((rd.path / "energy.json").read_text())
    assert data["snn"]["source"] == "lava-cpu" and data["n_samples"] == 6
    assert [e["profile"] for e in data["estimates"]] == ["loihi2", "loihi", "cmos-45nm"]


# ----------------------------------------------------------------------------- bad input
def _err(capsys) -> str:
    return capsys.readouterr().err


def test_missing_artifacts_name_the_command_that_creates_them(tmp_path, snn, capsys):
    assert main(["run", str(tmp_path / "nope")]) == 2
    assert "does not exist" in (err := _err(capsys)) and "lava-pinn train" in err
    rd = _rundir(tmp_path / "run", snn, with_snn=False)
    assert main(["run", str(rd.path), "--backend", "torch-float"]) == 2
    assert "run `lava-pinn convert" in _err(capsys)
    assert main(["run", str(rd.path), "--backend", "torch-twin"]) == 2
    assert "run `lava-pinn export" in _err(capsys)
    assert main(["energy", str(rd.path)]) == 2
    assert "run `lava-pinn run" in _err(capsys)
    assert main(["energy", str(rd.path), "--backend", "torch-twin"]) == 2
    assert "run `lava-pinn run" in (err := _err(capsys)) and "--backend torch-twin" in err


def test_unknown_backend_and_profile_list_the_available_ones(tmp_path, snn, capsys):
    rd = _rundir(tmp_path / "run", snn)
    assert main(["run", str(rd.path), "--backend", "gpu"]) == 2
    err = _err(capsys)
    assert "unknown backend 'gpu'" in err and "lava-cpu" in err and "torch-twin" in err
    assert main(["run", str(rd.path), "--backend", "torch-float", "--points", "5"]) == 0
    capsys.readouterr()
    assert main(["energy", str(rd.path), "--profile", "tpu"]) == 2
    err = _err(capsys)
    assert "unknown energy profile 'tpu'" in err and "cmos-45nm" in err and "loihi2" in err


def test_profile_file_with_negative_or_missing_constant_names_the_field(tmp_path, snn, capsys):
    rd = _rundir(tmp_path / "run", snn)
    assert main(["run", str(rd.path), "--backend", "torch-float", "--points", "5"]) == 0
    good = (
        'name = "mine"\nkind = "assumed"\nsource = "test"\n[snn]\nsynaptic_op = 1.0\n'
        "analog_mac = 2.0\nneuron_update = 0.5\nneuron_update_active = 0.5\nspike = 0.1\n"
        "tile_hop = 0.0\n"
    )
    bad = tmp_path / "bad.toml"
    bad.write_text(good.replace("spike = 0.1", "spike = -0.1"))
    capsys.readouterr()
    assert main(["energy", str(rd.path), "--profile", str(bad)]) == 2
    err = _err(capsys)
    assert "snn.spike" in err and "non-negative" in err and "bad.toml" in err
    bad.write_text(good.replace("tile_hop = 0.0\n", ""))
    assert main(["energy", str(rd.path), "--profile", str(bad)]) == 2
    assert "snn.tile_hop" in _err(capsys)
    mine = tmp_path / "mine.toml"
    mine.write_text(good)
    assert main(["energy", str(rd.path), "--profile", str(mine)]) == 0
    data = json.loads((rd.path / "energy.json").read_text())
    assert data["estimates"][0]["profile"] == "mine"
    assert data["estimates"][0]["ann_profile"] == "cmos-45nm"  # no [ann]: ANN priced apart


def test_figures_command_redraws_a_run_directory(tmp_path, snn, capsys):
    """`lava-pinn figures DIR` on a run directory after `run` and `energy` (no figures stage):
    the energy figures at full width as PNG + SVG, one note for what needs the figures stage."""
    import struct

    import hardware.app.figures_cli  # noqa: F401 - registers `figures`

    rd = _rundir(tmp_path / "run", snn)
    assert main(["run", str(rd.path), "--backend", "torch-float", "--points", "64"]) == 0
    assert main(["energy", str(rd.path), "--profile", "loihi"]) == 0
    shutil.rmtree(rd.path / "figures")
    capsys.readouterr()
    assert main(["figures", str(rd.path), "--width", "full", "--format", "svg"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 2 and out[0].startswith("note: fields, raster, error_vs_T and pareto")
    assert "`lava-pinn pipeline regression-1d --out " in out[0]
    assert out[1] == f"4 files (2 figures, PNG + svg) in {rd.path / 'figures'}"
    for stem in ("energy_pareto", "energy_firing_rates"):
        png = (rd.path / "figures" / f"{stem}.png").read_bytes()
        assert struct.unpack(">I", png[16:20])[0] == 2130  # 7.1 in at 300 dpi
        assert b"<svg" in (rd.path / "figures" / f"{stem}.svg").read_bytes()[:400]


def test_figures_command_without_records_is_one_clear_error(tmp_path, capsys):
    import hardware.app.figures_cli  # noqa: F401 - registers `figures`

    (tmp_path / "empty").mkdir()
    for path, says in (
        (tmp_path / "empty", "has nothing to draw (no figures/figures.npz, activity_*.json"),
        (tmp_path / "nope", "does not exist"),
    ):
        assert main(["figures", str(path)]) == 2
        cap = capsys.readouterr()
        lines = cap.err.strip().splitlines()
        assert cap.out == "" and len(lines) <= 2 and "Traceback" not in cap.err
        assert lines[0].startswith("lava-pinn: error: ") and says in lines[0], lines
        assert str(path) in lines[0]
        assert all(ln.startswith("  hint: ") for ln in lines[1:])
