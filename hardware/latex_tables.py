"""Paper tables of an energy report: compact ones that fit one column, wide ones for an appendix.

* :func:`column_tables`: totals per profile (profile, SNN energy, its ratio to the FP32 and INT8
  ANN: 4 columns) and per layer (layer, neurons, firing rate, synaptic ops, SNN and ANN energy:
  6 columns), the ANN's energies, ``T`` and the errors in the caption. Each is a booktabs
  ``table`` in ``\\small`` with ``\\tabcolsep`` = 4 pt, no wider than a 241 pt column (ACM's,
  the narrower of ACM and IEEE) by :func:`tabular_widths_pt`.
* :func:`appendix_tables`: every column of the totals and of the per-layer counts as ``table*``
  (spanning both columns) in ``\\footnotesize``, split into several tables (each repeating the
  profile or layer column) where the columns would be wider than a 506 pt text width.

All need ``\\usepackage{booktabs}``; every cell is escaped
(:func:`hardware.report_rows.latex_escape`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

COLUMN_PT = 241.0  # \columnwidth of ACM's two-column format (IEEE's is 252 pt)
TABCOLSEP_PT = 4.0
TEXT_PT = 506.0  # \textwidth of ACM's two-column format (IEEE's is 516 pt)


def _short(v: float | None) -> str:
    """``12,955`` / ``1.09e4`` / ``0.32``: a number in at most about 7 characters."""
    if v is None:
        return "--"
    a = abs(v)
    if a == 0:
        return "0"
    if a >= 1e5:
        m, e = f"{v:.2e}".split("e")
        return f"{float(m):.3g}e{int(e)}"
    if a >= 100:
        return f"{v:,.0f}"
    if a >= 0.01:
        return f"{v:.3g}"
    m, e = f"{v:.2e}".split("e")
    return f"{float(m):.3g}e{int(e)}"


def _ratio(snn_pj: float | None, ann_pj: float | None) -> str:
    """The SNN's energy over the ANN's as the reports write it: ``0.276x``, ``78.9x``,
    ``1,910x``, ``38,200x`` (three significant figures), ``1.2e5x`` from 100,000 on."""
    if not snn_pj or not ann_pj:
        return "--"
    r = snn_pj / ann_pj
    if r >= 1e5:
        return f"{_short(r)}x"
    v = float(f"{r:.3g}")
    return f"{v:,.0f}x" if v >= 100 else f"{v:.3g}x"


def _tabular(
    heads: Sequence[str],
    rows: Sequence[Sequence[str]],
    align: str,
    caption: str,
    label: str | None,
    *,
    env: str = "table",
    size: str = "small",
    note: str | None = None,
) -> str:
    from hardware.report_rows import latex_escape

    lines = [rf"\begin{{{env}}}[htbp]", r"\centering", rf"\{size}"]
    lines.append(rf"\setlength{{\tabcolsep}}{{{TABCOLSEP_PT:g}pt}}")
    lines.append(r"\caption{" + latex_escape(caption) + "}")
    if label:
        lines.append(r"\label{" + latex_escape(label) + "}")
    lines += [r"\begin{tabular}{" + align + "}", r"\toprule"]
    lines.append(" & ".join(latex_escape(h) for h in heads) + r" \\")
    lines.append(r"\midrule")
    lines += [" & ".join(latex_escape(c) for c in r) + r" \\" for r in rows]
    lines += [r"\bottomrule", r"\end{tabular}"]
    if note:
        lines.append(r"\par\smallskip{\footnotesize " + latex_escape(note) + "}")
    lines.append(rf"\end{{{env}}}")
    return "\n".join(lines) + "\n"


def _errors_text(report) -> str:
    return ", ".join(f"{k} {100 * v:.3g}%" for k, v in report.errors)


def column_tables(
    report, profile: str | None = None, label: str | None = None, caption: str | None = None
) -> str:
    """The totals and per-layer tables of ``report`` for one paper column (see the module)."""
    from hardware.report_rows import source_note

    prof = profile or report.estimates[0].profile
    e0 = report.estimates[0]
    cap = caption or report.label or "SNN vs ANN"
    ann = (
        f"E_ANN FP32 = {_short(e0.ann_total_pj * 1e-3)} nJ"
        + (
            ""
            if e0.ann_int8_total_pj is None
            else f", E_ANN INT8 = {_short(e0.ann_int8_total_pj * 1e-3)} nJ"
        )
        + f" ({e0.ann_profile})"
    )
    errs = _errors_text(report)
    rows = []
    for e in report.estimates:
        rows.append(
            [
                e.profile,
                _short(e.snn_total_pj * 1e-3),
                _ratio(e.snn_total_pj, e.ann_total_pj),
                _ratio(e.snn_total_pj, e.ann_int8_total_pj),
            ]
        )
    for m in report.measured:
        pj = m.to_dict()["total_j_per_inference"] * 1e12
        rows.append(
            [
                "loihi2-board",
                _short(pj * 1e-3),
                _ratio(pj, e0.ann_total_pj),
                _ratio(pj, e0.ann_int8_total_pj),
            ]
        )
    t1 = _tabular(
        ["profile", "E_SNN (nJ)", "/ FP32 ANN", "/ INT8 ANN"],
        rows,
        "lrrr",
        f"{cap}: SNN energy per inference (T = {report.ops.T}) and its ratio to the ANN's; "
        f"{ann}" + (f"; errors {errs}" if errs else ""),
        label,
        note=source_note(report),
    )
    est = report.estimate_for(prof)
    aligned = len(report.ann.macs_per_layer) == len(report.ops.layers)
    lrows = []
    for k, la in enumerate(report.ops.layers):
        lrows.append(
            [
                la.name,
                str(la.n_out),
                f"{la.firing_rate:.2f}",
                _short(la.synaptic_ops),
                _short(est.snn_layers[k].total_pj * 1e-3),
                _short(est.ann_layers[k].total_pj * 1e-3) if aligned else "--",
            ]
        )
    t2 = _tabular(
        ["layer", "neurons", "rate", "syn. ops", "E_SNN", "E_ANN"],
        lrows,
        "lrrrrr",
        f"{cap}: per layer and inference: firing rate (spikes per neuron per step), synaptic "
        f"operations, energy in nJ (SNN: {prof}; ANN: FP32, {est.ann_profile})",
        f"{label}-layers" if label else None,
    )
    return t1 + "\n" + t2


def _col_width_pt(cells: Sequence[str], font_pt: float) -> float:
    """Printed width of one column (see :func:`tabular_widths_pt`)."""
    from hardware.report_rows import latex_escape

    return max(len(_plain(latex_escape(c))) for c in cells) * 0.5 * font_pt + 2 * TABCOLSEP_PT


def _column_groups(columns: Sequence[Sequence[str]], width_pt: float, font_pt: float):
    """Indices of ``columns[1:]`` in consecutive groups, each fitting ``width_pt`` beside the
    key column ``columns[0]`` (a column wider than that on its own gets a group of its own)."""
    key = _col_width_pt(columns[0], font_pt)
    groups: list[list[int]] = [[]]
    used = key
    for j in range(1, len(columns)):
        w = _col_width_pt(columns[j], font_pt)
        if groups[-1] and used + w > width_pt:
            groups.append([])
            used = key
        groups[-1].append(j)
        used += w
    return groups


def appendix_tables(report, label: str | None = None, caption: str | None = None) -> str:
    """Every column of the totals and per-layer rows in two-column ``table*`` environments,
    each no wider than the text (:data:`TEXT_PT`): where the columns do not fit one table, they
    are split over several, each repeating the first column (profile / layer)."""
    from hardware.report_rows import _cell, _headers, _pretty, layer_rows, totals_rows

    cap = caption or report.label or "SNN vs ANN"
    out = []
    for rows, what, suffix, key in (
        (totals_rows(report), f"totals per profile (T = {report.ops.T})", "totals", "profile"),
        (layer_rows(report), "per layer, every profile", "layers", "layer"),
    ):
        heads = [h for h in _headers(rows) if h not in ("label", "snn_j", "ann_j", "ann_int8_j")]
        heads = [key] + [h for h in heads if h != key]
        columns = [[_pretty(h)] + [_cell(h, r.get(h)) for r in rows] for h in heads]
        groups = _column_groups(columns, TEXT_PT, _FONT_PT["footnotesize"])
        for g, idx in enumerate(groups, start=1):
            cols = [0, *idx]
            part = f" (columns, part {g} of {len(groups)})" if len(groups) > 1 else ""
            align = "".join(
                "l" if any(isinstance(r.get(heads[j]), str) for r in rows) else "r" for j in cols
            )
            tag = f"{label}-appendix-{suffix}" + (f"-{g}" if len(groups) > 1 else "")
            out.append(
                _tabular(
                    [columns[j][0] for j in cols],
                    [[columns[j][1 + i] for j in cols] for i in range(len(rows))],
                    align,
                    f"{cap}: {what}; energies in nJ{part}",
                    tag if label else None,
                    env="table*",
                    size="footnotesize",
                )
            )
    return "\n".join(out)


_FONT_PT = {"small": 9.0, "footnotesize": 8.0, "normalsize": 10.0}


def _plain(cell: str) -> str:
    """A LaTeX cell as the characters it prints (escapes and commands dropped)."""
    cell = re.sub(r"\\text[a-z]+\{\}", "~", cell)
    cell = re.sub(r"\\([%&_#$ {}])", r"\1", cell)
    return re.sub(r"\\[a-zA-Z]+\s*", "", cell).strip()


def tabular_widths_pt(text: str) -> list[float]:
    """Estimated printed width (pt) of each ``tabular`` in ``text``: per column its longest
    cell at half an em per character in the font size in force before it (``\\small`` ...),
    plus ``2 \\tabcolsep`` per column (6 pt unless set)."""
    widths = []
    for m in re.finditer(r"\\begin\{tabular\}\{([^}]*)\}(.*?)\\end\{tabular\}", text, re.S):
        head = text[: m.start()]
        head = head[head.rfind(r"\begin{table") :] if r"\begin{table" in head else head
        sizes = re.findall(r"\\(small|footnotesize|normalsize)\b", head)
        font = _FONT_PT[sizes[-1]] if sizes else 10.0
        seps = re.findall(r"\\setlength\{\\tabcolsep\}\{([\d.]+)pt\}", head)
        sep_pt = float(seps[-1]) if seps else 6.0
        spec, body = m.groups()
        ncol = len(re.findall(r"[lrc]", spec))
        longest = [0] * ncol
        for row in re.split(r"\\\\", body):
            row = re.sub(r"\\(toprule|midrule|bottomrule)", "", row).strip()
            if not row:
                continue
            for j, c in enumerate(re.split(r"(?<!\\)&", row)[:ncol]):
                longest[j] = max(longest[j], len(_plain(c)))
        widths.append(sum(longest) * 0.5 * font + 2 * sep_pt * ncol)
    return widths


__all__ = ["COLUMN_PT", "TEXT_PT", "appendix_tables", "column_tables", "tabular_widths_pt"]
