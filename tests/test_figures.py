"""Every figure the tool draws is paper-ready at one column (3.5 in) and at full width (7.1 in)
for two problems of different scales: regression-1d (1 input, 1 output, errors near 0.1 %,
energies in the tens of nJ) and navier-stokes-tg (3 inputs, 3 outputs, field slices at a time,
six hidden layers, energies in the thousands of nJ), plus the streaming figure of a sigma-delta
run. Real run directories: ``lava-pinn pipeline`` on the pretrained checkpoints converted the
cheap way (direct, no calibration) with few points; regression-1d runs on Lava's CPU simulator
beside the torch twin, so its energy figure must merge the two bit-exact backends into one point.

What is checked, on the drawn figures (matplotlib bounding boxes after a draw): no two texts
overlap and none leaves the figure, no legend covers a line, each figure exists as PNG and as
PDF or SVG at the style's width, and per figure: a colorbar on every field panel, layer
separators and names on the raster, the error-vs-T legend off the axes (so off the ANN line),
units on the Pareto axes, bit-exact backends as one point and a front only where there is one.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

import hardware.app.pipeline_cli  # noqa: F401 - registers `pipeline`
from hardware.app.cli import main
from hardware.app.figures import render_figures
from hardware.app.rundir import RunDir
from hardware.figstyle import WIDTHS_IN, FigStyle, overlapping_texts, recording_figures
from hardware.plots import ParetoPoint, pareto_front

pytest.importorskip("matplotlib")

COMMON = [
    "--T", "16", "--representation", "direct", "--calibration", "none",
    "--calibration-points", "64", "--scoring-points", "64", "--grid-points", "200",
    "--sweep-T", "8,16,32", "--sweep-points", "48", "--threads", "1", "--quiet",
]  # fmt: skip
PROBLEMS = {
    "regression-1d": [
        "--backend", "torch-twin", "--backend", "lava-cpu", "--lava-points", "6",
        "--lava-batch", "32", "--field-grid", "5",
    ],
    "navier-stokes-tg": [
        "--backend", "torch-twin", "--backend", "torch-float", "--field-grid", "6",
        "--field-times", "0.5",
    ],
}  # fmt: skip
FIELDS = {"regression-1d": "fields", "navier-stokes-tg": "fields_t0.50"}
DRAWN = ["raster", "error_vs_T", "pareto", "energy_pareto", "energy_firing_rates"]


@pytest.fixture(scope="module", params=list(PROBLEMS))
def run(request, tmp_path_factory):
    """``(problem, run dir, {stem: figure})``: the pipeline's run directory and the figures
    its stages drew (column width, PDF)."""
    import torch

    name = request.param
    if "lava-cpu" in PROBLEMS[name]:
        pytest.importorskip("lava.magma.core.process.process")
    out = tmp_path_factory.mktemp(name) / "run"
    threads = torch.get_num_threads()
    try:
        with recording_figures() as figs:
            assert main(["pipeline", name, "--out", str(out), *COMMON, *PROBLEMS[name]]) == 0
    finally:
        torch.set_num_threads(threads)
    return name, RunDir(out), figs


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", head[16:24])


def _check_files(figdir: Path, stems: list[str], style: FigStyle) -> None:
    for s in stems:
        png, vec = figdir / f"{s}.png", figdir / f"{s}.{style.vector}"
        w, _ = _png_size(png)
        assert abs(w - 300 * WIDTHS_IN[style.width]) <= 2, (png, w)
        head = vec.read_bytes()[:200]
        assert head.startswith(b"%PDF") if style.vector == "pdf" else b"<svg" in head, vec


def _texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def _check_fields(fig, name: str) -> None:
    imaged = [ax for ax in fig.axes if ax.images]
    # colorbars: beside their panel, as tall as it (inset axes of the panel)
    bars = [c for ax in fig.axes for c in [ax, *ax.child_axes] if hasattr(c, "_colorbar")]
    if name == "navier-stokes-tg":
        assert len(imaged) == 3 * 5  # u, v, p x exact, ANN, SNN, |ANN - exact|, |SNN - exact|
        assert len(bars) == len(imaged)  # a colorbar on every panel, the ANN error's too
        assert {b._colorbar.mappable.axes for b in bars} == set(imaged)
        titles = [ax.get_title() for ax in imaged]
        assert "u: |ANN - exact|" in titles and "p: |SNN - exact|" in titles
    else:
        assert not imaged  # a 1-D problem: lines, values above, errors (log) below
        labels = {ax.get_ylabel() for ax in fig.axes}
        assert {"u", "|u - exact|"} <= labels
        assert fig.legends and {t.get_text() for t in fig.legends[0].get_texts()} >= {"exact"}


def _check_raster(fig, rd: RunDir) -> None:
    (ax,) = fig.axes
    meta = json.loads(str(np.load(rd.figures / "figures.npz")["meta"]))
    names = meta["raster_layers"]
    assert [t.get_text() for t in ax.get_yticklabels()] == names and len(names) >= 4
    separators = [ln for ln in ax.get_lines() if ln.get_label().startswith("_") and
                  np.ptp(ln.get_ydata()) == 0 and len(set(ln.get_xdata())) == 2]  # fmt: skip
    assert len(separators) == len(names) - 1


def _check_error_vs_T(fig) -> None:
    (ax,) = fig.axes
    assert ax.get_legend() is None and len(fig.legends) == 1
    ann = [ln for ln in ax.get_lines() if ln.get_label() == "ANN"]
    assert len(ann) == 1
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    assert not fig.legends[0].get_window_extent(r).overlaps(ax.get_window_extent(r))
    assert "%" in ax.get_ylabel() and ax.get_xlabel() == "time steps T"


def _pareto_points(ax) -> dict[str, list[tuple[float, float]]]:
    pts = {}
    for ln in ax.get_lines():
        lab = ln.get_label()
        if lab.startswith("_") or lab == "Pareto front":
            continue
        pts[lab] = list(zip(ln.get_xdata(), ln.get_ydata(), strict=True))
    return pts


def _check_pareto(fig, *, energy: bool, name: str) -> None:
    (ax,) = fig.axes
    assert "(nJ)" in ax.get_xlabel() and "(%)" in ax.get_ylabel()
    fig.canvas.draw()
    for axis in (ax.xaxis, ax.yaxis):
        shown = [t.label1.get_text() for t in axis._update_ticks() if t.label1.get_text()]
        assert len(shown) >= 2, (axis, shown)
    pts = _pareto_points(ax)
    assert "ANN" in pts
    nets = {k: v for k, v in pts.items() if k != "ANN"}
    front = pareto_front(
        [ParetoPoint(k, i, x, y) for k, v in nets.items() for i, (x, y) in enumerate(v)]
    )
    has_front = any(ln.get_label() == "Pareto front" for ln in ax.get_lines())
    assert has_front == (len(front) >= 2), (nets, front)
    if energy and name == "regression-1d":  # Lava fixed_pt and the twin: bit-exact, one point
        assert list(nets) == ["lava-cpu = torch-twin"] and len(nets["lava-cpu = torch-twin"]) == 1
        assert not has_front
    elif energy:
        assert set(nets) == {"torch-twin", "torch-float"}  # two different networks
    else:
        sweep = [k for k in nets if k.startswith("float SNN")]
        assert len(sweep) == 1 and len(nets[sweep[0]]) == 3  # one point per T of the sweep
        notes = [t for t in _texts(ax) if t.startswith("T=")]
        assert notes  # T labels where they fit (overlap checked for all texts)


def _check_all(name: str, rd: RunDir, figs: dict, style: FigStyle) -> None:
    stems = [FIELDS[name], *DRAWN]
    assert set(figs) == set(stems), sorted(figs)
    _check_files(rd.figures, stems, style)
    for stem, fig in figs.items():
        assert fig.get_size_inches()[0] == pytest.approx(style.inches), stem
        assert overlapping_texts(fig) == [], stem
    _check_fields(figs[FIELDS[name]], name)
    _check_raster(figs["raster"], rd)
    _check_error_vs_T(figs["error_vs_T"])
    _check_pareto(figs["pareto"], energy=False, name=name)
    _check_pareto(figs["energy_pareto"], energy=True, name=name)


def test_every_figure_at_column_width(run):
    name, rd, figs = run
    _check_all(name, rd, figs, FigStyle("column", "pdf"))


def test_every_figure_at_full_width(run, capsys):
    """``lava-pinn figures DIR --width full --format svg`` redraws every figure of the run."""
    import hardware.app.figures_cli  # noqa: F401 - registers `figures`

    name, rd, _ = run
    capsys.readouterr()
    with recording_figures() as figs:
        assert main(["figures", str(rd.path), "--width", "full", "--format", "svg"]) == 0
    n = 1 + len(DRAWN)
    assert capsys.readouterr().out.splitlines() == [
        f"{2 * n} files ({n} figures, PNG + svg) in {rd.figures}"
    ]
    _check_all(name, rd, figs, FigStyle("full", "svg"))


def test_streaming_figure_at_both_widths(tmp_path):
    """A sigma-delta run streamed over a 5 x 5 grid (a few seconds): the streaming figure."""
    import torch

    from hardware.app.sigma_delta import DeltaJob, run_job

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        job = DeltaJob(
            points=64,
            lava_points=0,
            calibration_points=256,
            stream_grid=5,
            stream_frames=(11, 101),
            stream_check_frames=3,
        )
        run_job(job, tmp_path)
    finally:
        torch.set_num_threads(threads)
    for style in (FigStyle("column", "pdf"), FigStyle("full", "svg")):
        with recording_figures() as figs:
            paths, notes = render_figures(RunDir(tmp_path), style)
        assert notes == [] and set(figs) == {"streaming"}
        assert {p.name for p in paths} == {"streaming.png", f"streaming.{style.vector}"}
        _check_files(tmp_path / "figures", ["streaming"], style)
        fig = figs["streaming"]
        assert overlapping_texts(fig) == []
        a, b = fig.axes
        assert "nJ" in b.get_ylabel() and a.get_xlabel() == "frames over the sweep"
        assert {ln.get_label() for ln in b.get_lines()} >= {"ANN FP32", "ANN INT8"}


def test_the_overlap_check_finds_overlaps_edges_and_covered_lines():
    """The check the tests above rely on: it reports what it should (a guard against a check
    that passes everything)."""
    from hardware.figstyle import figure, rc

    style = FigStyle()
    with rc(style):
        fig, ax = figure(style, 2.0)
        ax.plot([0, 1], [0, 1], label="line")
        ax.text(0.5, 0.5, "first label")
        ax.text(0.5, 0.5, "second label")
        ax.text(1.3, 0.5, "beyond the figure's edge", transform=ax.transAxes)
        ax.legend(loc="center")
    pairs = overlapping_texts(fig)
    assert ("axes 0 text 'first label'", "axes 0 text 'second label'") in pairs
    assert ('axes 0 text "beyond the figure\'s edge"', "figure edge") in pairs
    assert ("legend", "line 'line'") in pairs


@pytest.mark.parametrize(
    "outs, low, high",
    [
        (["u"], [-1.0, -1.0], [1.0, 1.0]),  # poisson-2d: one field, a square domain
        (["u"], [-1.0, 0.0], [1.0, 1.0]),  # burgers-1d / heat: x beside t, twice as wide
        (["u", "v"], [0.0, 0.0], [10.0, 1.0]),  # two fields on a 10:1 domain
    ],
)
def test_field_figures_of_other_shapes_fit_a_page(tmp_path, outs, low, high):
    """Problems the pipeline runs above do not cover: one or two outputs and domains that are
    not square. At either width the figure is no taller than a page column allows, every
    panel has a colorbar exactly as tall as the panel, nothing overlaps."""
    from hardware.app.figures_draw import _fields_2d

    n = 11
    X, Y = np.meshgrid(np.linspace(low[0], high[0], n), np.linspace(low[1], high[1], n))
    exact = np.stack([np.sin(X.ravel() + k) * Y.ravel() for k in range(len(outs))], 1)
    rng = np.random.default_rng(0)
    cols = {
        "exact": exact,
        "ANN": exact + 1e-3 * rng.normal(size=exact.shape),
        "SNN": exact + 1e-1 * rng.normal(size=exact.shape),
    }
    meta = {"outputs": outs, "inputs": ["x", "t"], "low": low, "high": high}
    for style in (FigStyle("column", "pdf"), FigStyle("full", "svg")):
        with recording_figures() as figs:
            _fields_2d(cols, meta, (n, n), tmp_path / style.width, "a title", style)
        fig = figs[style.width]
        w, h = fig.get_size_inches()
        assert w == pytest.approx(style.inches) and h <= 1.5 * w, (style, h)
        assert overlapping_texts(fig) == [], style
        imaged = [ax for ax in fig.axes if ax.images]
        assert len(imaged) == 5 * len(outs)
        r = fig.canvas.get_renderer()
        for ax in imaged:
            (cax,) = [c for c in ax.child_axes if hasattr(c, "_colorbar")]
            a, b = ax.get_window_extent(r), cax.get_window_extent(r)
            assert abs(a.height - b.height) <= 1 and abs(a.y0 - b.y0) <= 1, ax.get_title()
        _check_files(tmp_path, [style.width], style)


def test_point_labels_stay_inside_the_axes(tmp_path):
    """T labels of a sweep whose first point is the highest: none crosses the axes' frame
    (the overlap check reports a label crossing it)."""
    from hardware.plots import plot_pareto

    sweep = ((8, 1.395e-6, 0.265), (16, 2.79e-6, 0.196), (32, 5.58e-6, 0.1746))  # poisson-2d's
    pts = [ParetoPoint("float SNN, calibrated at T=16", T, e, err) for T, e, err in sweep]
    pts.append(ParetoPoint("exported: lava-cpu = torch-twin", 16, 2.73e-6, 0.1867))
    xlabel = "energy per inference (nJ)\nSNN loihi2, ANN FP32 cmos-45nm"
    with recording_figures() as figs:
        plot_pareto(pts, tmp_path / "pareto.png", ann=(9.86e-9, 0.00099), xlabel=xlabel)
    fig = figs["pareto"]
    assert overlapping_texts(fig) == []
    (ax,) = fig.axes
    assert {t.get_text() for t in ax.texts} == {"T=8", "T=16", "T=32"}
