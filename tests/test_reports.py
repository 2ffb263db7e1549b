"""Reports (JSON, CSV, Markdown, LaTeX) round-trip and stay well formed; plots are written."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from hardware import plots, reports
from hardware.activity import SNNActivity
from hardware.energy import estimate_energy

W1 = np.array([[1.0, 0.5], [0.2, 0.0], [-0.3, 0.7]])
W2 = np.array([[0.4, 0.0, -0.6]])


def make_report(T: int = 4, label: str = "x^2 & 50% of_runs", counts=(2.0, 5.0, 4.0)):
    act = SNNActivity.from_arrays(
        [W1, W2], "if", [np.array(counts) * T / 4, None], n_samples=2, T=T, source="test"
    )
    return estimate_energy(act, errors={"u": 0.046, "v_rel": 0.05}, label=label)


def test_json_round_trip():
    rep = make_report()
    d = json.loads(reports.to_json(rep))
    assert d["T"] == 4 and d["errors"] == {"u": 0.046, "v_rel": 0.05}
    est = {e["profile"]: e for e in d["estimates"]}
    assert est["loihi"]["snn_total_pj"] == pytest.approx(1562.9)
    assert est["loihi"]["ann_profile"] == "cmos-45nm"
    assert est["loihi2"]["kind"] == "assumed"
    assert d["snn"]["synaptic_operations"]["Dense"] == 36.0
    assert d["ann"]["MACs"] == 9


def test_csv_round_trip(tmp_path):
    rep = make_report()
    path = tmp_path / "layers.csv"
    reports.to_csv(rep, path)
    rows = list(csv.DictReader(path.open()))
    assert [r["layer"] for r in rows] == ["layer1", "layer2"]
    assert float(rows[0]["snn_pj[loihi]"]) == pytest.approx(1284.1)
    assert float(rows[1]["Effective_ACs"]) == 3.0
    assert float(rows[0]["ann_MACs"]) == 6
    totals = list(csv.DictReader(io.StringIO(reports.to_csv(rep, kind="totals"))))
    assert [r["profile"] for r in totals] == ["loihi2", "loihi", "cmos-45nm"]
    assert all(r["error[u]"] == "0.046" for r in totals)
    assert {r["kind"] for r in totals} == {"assumed", "pre-silicon", "estimated"}


def _md_tables(text: str) -> list[list[str]]:
    tables, cur = [], []
    for line in text.splitlines():
        if line.startswith("|"):
            cur.append(line)
        elif cur:
            tables.append(cur)
            cur = []
    if cur:
        tables.append(cur)
    return tables


def test_markdown_table_shape():
    rep = make_report()
    md = reports.to_markdown(rep)
    tables = _md_tables(md)
    assert len(tables) == 2
    for t in tables:
        ncols = {line.count("|") for line in t}
        assert len(ncols) == 1, t  # every row has as many cells as the header
        assert re.fullmatch(r"\|((-{3}|-{2}:)\|)+", t[1])
    totals, layers = tables
    assert len(totals) == 2 + 3 and len(layers) == 2 + 2
    assert "error u" in totals[0] and "4.6%" in totals[2]
    assert "E_SNN loihi (nJ)" in layers[0] and "E_ANN FP32 cmos-45nm (nJ)" in layers[0]
    assert "E_ANN INT8 cmos-45nm (nJ)" in layers[0] and "E_ANN INT8 (nJ)" in totals[0]
    assert "SNN vs ANN" in totals[0] and "the INT8 ANN" in totals[2]
    assert "Davies" in md and "Horowitz" in md and "Assumptions" in md


def _check_latex(tex: str) -> None:
    body = re.sub(r"\\[{}%&_#$]", "", tex)  # drop escaped specials
    depth = 0
    for c in body:
        depth += (c == "{") - (c == "}")
        assert depth >= 0
    assert depth == 0
    assert "%" not in body and "&" in body  # raw % would comment out the rest of a line
    assert tex.count(r"\begin{tabular}") == tex.count(r"\end{tabular}") >= 1
    assert tex.count(r"\begin{table}") == tex.count(r"\end{table}")
    for rule in (r"\toprule", r"\midrule", r"\bottomrule"):
        assert tex.count(rule) == tex.count(r"\begin{tabular}")
    for block in re.findall(r"\\begin\{tabular\}\{(\w+)\}(.*?)\\end\{tabular\}", tex, re.S):
        ncols = len(block[0])
        for line in block[1].splitlines():
            if line.endswith(r"\\"):
                cells = re.split(r"(?<!\\)&", line)
                assert len(cells) == ncols, line
    assert re.search(r"(?<!\\)_", re.sub(r"\\[a-z]+\{[^}]*\}", "", body)) is None


def test_latex_is_well_formed(tmp_path):
    rep = make_report()
    tex = reports.to_latex(rep, label="tab:energy")
    _check_latex(tex)
    assert r"x\^{}2" not in tex and r"\textasciicircum{}" in tex
    assert r"50\%" in tex and r"of\_runs" in tex and r"\&" in tex
    summary = reports.summary_to_latex([make_report(T) for T in (4, 8)], label="tab:sweep")
    _check_latex(summary)
    if shutil.which("pdflatex") is None:
        return  # structural checks above stand in for a TeX engine
    doc = (
        "\\documentclass{article}\n\\usepackage{booktabs}\n\\usepackage{graphicx}\n"
        "\\begin{document}\n" + tex + summary + "\\end{document}\n"
    )
    (tmp_path / "t.tex").write_text(doc)
    res = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stdout[-2000:]


def test_summary_over_T():
    reps = [make_report(T) for T in (4, 8, 16)]
    rows = reports.summary_rows(reps)
    assert [r["T"] for r in rows] == [4, 8, 16]
    assert rows[0]["error[u]"] == 0.046
    assert rows[0]["snn_pj[loihi]"] < rows[2]["snn_pj[loihi]"]
    parsed = list(csv.DictReader(io.StringIO(reports.summary_to_csv(reps))))
    assert len(parsed) == 3 and "ann_pj[cmos-45nm]" in parsed[0]
    md = reports.summary_to_markdown(reps)
    assert len(_md_tables(md)[0]) == 2 + 3


def test_json_of_resource_report():
    from hardware.resources import check_network

    rep = check_network([np.ones((4, 2)), np.ones((1, 4))], neurons="lif-hard")
    d = json.loads(reports.to_json(rep))
    assert d["fits"] is True and d["chips"] == 1


PNG = b"\x89PNG\r\n\x1a\n"


def test_plots_write_png(tmp_path):
    pytest.importorskip("matplotlib")
    act = make_report().ops
    files = [
        plots.plot_error_vs_T(
            [16, 32, 64],
            {"calibrated": [0.08, 0.05, 0.04], "plain": [0.2, 0.2, 0.22]},
            tmp_path / "err.png",
            ann_error=0.004,
        ),
        plots.plot_pareto(
            [
                plots.ParetoPoint("calibrated", 16, 1e-9, 0.08),
                plots.ParetoPoint("calibrated", 32, 2e-9, 0.05),
                plots.ParetoPoint("plain", 32, 2e-9, 0.2),
            ],
            tmp_path / "pareto.png",
            ann=(3e-9, 0.004),
        ),
        plots.plot_firing_rates(
            {la.name: np.full(la.n_out, la.firing_rate) for la in act.layers},
            tmp_path / "rates.png",
        ),
        plots.plot_raster(np.array([[1, 0, -1], [0, 1, 0]]), tmp_path / "raster.png", title="h1"),
    ]
    for f in files:
        assert f.read_bytes()[:8] == PNG


def test_pareto_front():
    P = plots.ParetoPoint
    pts = [P("a", 16, 1.0, 0.5), P("a", 32, 2.0, 0.3), P("b", 32, 2.5, 0.4), P("b", 64, 3.0, 0.1)]
    assert [(p.method, p.T) for p in plots.pareto_front(pts)] == [("a", 16), ("a", 32), ("b", 64)]
    with pytest.raises(ValueError, match="T_values"):
        plots.plot_error_vs_T([], {}, "x.png")


def test_write_all_and_sources_in_latex(tmp_path):
    rep = make_report()
    paths = reports.write_all(rep, tmp_path / "out", stem="x2")
    assert all(p.is_file() for p in paths.values())
    tex = paths["latex"].read_text()
    _check_latex(tex)
    assert "Davies" in tex and "Horowitz" in tex and "pre-silicon" in tex


def test_points_from_reports():
    reps = [make_report(T, label="calibrated") for T in (4, 8)]
    pts = plots.points_from_reports(reps, "loihi", "u")
    assert [p.T for p in pts] == [4, 8] and pts[0].energy_j == pytest.approx(1562.9e-12)
    with pytest.raises(KeyError, match="no error"):
        plots.points_from_reports(reps, "loihi", "w")


def test_latex_escape():
    assert reports.latex_escape('a_b & 5% "q" {x}') == r"a\_b \& 5\% ``q'' \{x\}"


def test_int8_baseline_in_every_format():
    """FP32 keys stay (committed results keep reading); INT8 keys and the verdict are added."""
    rep = make_report()
    d = json.loads(reports.to_json(rep))
    for e in d["estimates"]:
        for k in ("ann_total_pj", "ratio_ann_over_snn", "ann_profile"):  # the FP32 keys
            assert k in e
        assert e["ann_precision"] == "fp32"
        assert e["ann_int8_total_pj"] == pytest.approx(e["ann_total_pj"] * 0.23 / 4.6)
        assert e["snn_over_ann_int8"] == pytest.approx(e["snn_total_pj"] / e["ann_int8_total_pj"])
        assert "FP32 ANN" in e["verdict"] and "INT8 ANN" in e["verdict"]
    totals = reports.to_csv(rep, kind="totals")
    assert "ann_int8_pj" in totals.splitlines()[0] and "verdict" in totals.splitlines()[0]
    tex = reports.to_latex(rep)
    assert "E\\_ANN INT8" in tex
    assert reports.latex_problems(tex) == []
    summary = reports.summary_to_latex([rep, rep], profiles=["cmos-45nm"])
    assert "INT8" in summary and reports.latex_problems(summary) == []


def test_report_from_dict_reprices_stored_counts():
    """A report read back from its JSON gives the same energies (and gains INT8 if absent)."""
    from hardware.energy import report_from_dict

    rep = make_report()
    d = json.loads(reports.to_json(rep))
    for e in d["estimates"]:  # a report written before the INT8 baseline existed
        for k in [k for k in e if k.startswith("ann_int8") or k.startswith("snn_over")]:
            del e[k]
    back = report_from_dict(d)
    assert [e.profile for e in back.estimates] == [e.profile for e in rep.estimates]
    for a, b in zip(back.estimates, rep.estimates, strict=True):
        assert a.snn_total_pj == pytest.approx(b.snn_total_pj)
        assert a.ann_total_pj == pytest.approx(b.ann_total_pj)
        assert a.ann_int8_total_pj == pytest.approx(b.ann_int8_total_pj)
    assert back.ops.to_dict() == rep.ops.to_dict()
    assert dict(back.errors) == dict(rep.errors)


# ----------------------------------------------------------------------------- paper tables
@pytest.fixture(scope="module")
def problem_reports():
    """Energy reports of regression-1d (1 input, 4 hidden layers, 1 output) and
    navier-stokes-tg (3 inputs, 6 hidden layers, 3 outputs): pretrained checkpoints converted
    the cheap way and run in float on 32 grid points (a second or two each)."""
    import torch

    import hardware
    import lava_pinn
    from lava_pinn.checkpoint import load_pretrained
    from lava_pinn.problems import get_problem

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    out = {}
    try:
        for name in ("regression-1d", "navier-stokes-tg"):
            snn = lava_pinn.convert(
                load_pretrained(name), None, T=16, representation="direct", calibration="none"
            )
            prob = get_problem(name)
            x = prob.domain.sample(32, torch.Generator().manual_seed(0))
            res = hardware.run(snn, x.numpy(), backend="torch-float")
            errors = {o: 0.0123 * (k + 1) for k, o in enumerate(prob.outputs)}
            out[name] = hardware.energy_report(res, errors=errors, label=f"{name} & 50% of_runs")
    finally:
        torch.set_num_threads(threads)
    return out


@pytest.mark.parametrize("name", ["regression-1d", "navier-stokes-tg"])
def test_column_tables_fit_one_paper_column(problem_reports, name):
    from hardware.latex_tables import COLUMN_PT, tabular_widths_pt

    rep = problem_reports[name]
    tex = reports.to_latex(rep, label="tab:e")
    _check_latex(tex)
    assert reports.latex_problems(tex) == []
    widths = tabular_widths_pt(tex)
    assert len(widths) == 2 and max(widths) <= COLUMN_PT, widths
    assert r"\begin{table}" in tex and r"\begin{table*}" not in tex
    assert tex.count(r"\\") - 2 == len(rep.estimates) + len(rep.ops.layers)  # + 2 header rows
    for la in rep.ops.layers:
        assert f"\n{la.name} & {la.n_out} & " in tex
    assert r"\& 50\% of\_runs" in tex  # the label, escaped, in the captions


@pytest.mark.parametrize("name", ["regression-1d", "navier-stokes-tg"])
def test_appendix_tables_hold_every_column_within_the_text_width(problem_reports, name):
    from hardware.latex_tables import TEXT_PT, tabular_widths_pt

    rep = problem_reports[name]
    tex = reports.to_latex_appendix(rep, label="tab:e")
    _check_latex(tex)
    assert reports.latex_problems(tex) == []
    assert max(tabular_widths_pt(tex)) <= TEXT_PT
    assert r"\begin{table*}" in tex and r"\begin{table}" not in tex
    heads = []
    for block in re.findall(r"\\toprule\n(.*?) \\\\\n\\midrule", tex):
        heads += block.split(" & ")
    for rows in (reports.totals_rows(rep), reports.layer_rows(rep)):
        for key in {k for r in rows for k in r} - {"label", "snn_j", "ann_j", "ann_int8_j"}:
            assert reports.latex_escape(reports._pretty(key)) in heads, key
    for la in rep.ops.layers:  # every layer in every part of the per-layer table
        parts = len(re.findall(r"per layer, every profile", tex))
        assert tex.count(f"\n{la.name} & ") == parts >= 1


def test_latex_ratios_are_written_as_the_reports_write_them():
    """Three significant figures with thousands separators, never ``1.91e+03x``."""
    from hardware.latex_tables import _ratio

    got = [_ratio(a, 1.0) for a in (0.2764, 78.94, 1909.6, 38190.0, 123456.0)]
    assert got == ["0.276x", "78.9x", "1,910x", "38,200x", "1.23e5x"]
    assert _ratio(None, 1.0) == _ratio(1.0, 0.0) == "--"


def test_latex_tables_escape_every_cell():
    from hardware.latex_tables import column_tables, tabular_widths_pt

    rep = make_report(label="a_b & 50% #1 {x} ~y ^z $w")
    for tex in (column_tables(rep, label="tab:a_b"), reports.to_latex_appendix(rep)):
        _check_latex(tex)
        assert reports.latex_problems(tex) == []
        assert r"a\_b \& 50\% \#1 \{x\}" in tex and "$w" not in tex.replace(r"\$w", "")
    assert r"\label{tab:a\_b}" in column_tables(rep, label="tab:a_b")
    assert tabular_widths_pt(r"\begin{tabular}{lr}a & b\_c \\ \end{tabular}") == [
        (1 + 3) * 0.5 * 10 + 2 * 6 * 2
    ]


def test_write_all_writes_the_appendix_tables(tmp_path):
    paths = reports.write_all(make_report(), tmp_path, stem="e")
    app = paths["latex_appendix"].read_text()
    assert paths["latex_appendix"].name == "e_appendix.tex" and r"\begin{table*}" in app
    _check_latex(app)
