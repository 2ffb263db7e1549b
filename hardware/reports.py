"""Energy reports for machines (JSON, CSV), READMEs (Markdown) and papers (LaTeX booktabs).

Every table puts the SNN beside its ANN baseline, says which profile priced each number and how
far to trust it (``kind``: measured / estimated / pre-silicon / derived / assumed), and shows
errors next
to energies when the report carries them. Energies: pJ in JSON and CSV, nJ in Markdown and LaTeX
(per inference, i.e. per sample).

Graded-spike (sigma-delta) estimates, one per profile, are tabulated by
:func:`delta_energy_table`.

Two granularities: one run (:func:`layer_rows`, :func:`totals_rows`; rendered by
:func:`to_markdown`, :func:`to_latex`, :func:`to_csv`, :func:`to_json`) and a sweep of runs over
``T`` or methods (:func:`summary_rows`; rendered by :func:`summary_to_markdown`,
:func:`summary_to_latex`, :func:`summary_to_csv`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hardware.energy.estimate import EnergyEstimate, EnergyReport, _fmt_times
from hardware.report_rows import (  # noqa: F401  re-exported
    _LATEX_SPECIAL,
    Row,
    _cell,
    _drop,
    _err,
    _headers,
    _is_text,
    _nj,
    _num,
    _pretty,
    _write,
    latex_escape,
    layer_rows,
    rows_to_csv,
    rows_to_latex,
    rows_to_markdown,
    source_note,
    summary_rows,
    totals_rows,
)


def to_json(obj: Any, path: str | Path | None = None, indent: int = 2) -> str:
    """JSON of a report (or anything with ``to_dict``, or a list of them); NaN/inf as null."""

    def clean(x: Any) -> Any:
        if hasattr(x, "to_dict"):
            return clean(x.to_dict())
        if isinstance(x, dict):
            return {str(k): clean(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [clean(v) for v in x]
        if isinstance(x, float) and not math.isfinite(x):
            return None
        if hasattr(x, "item"):  # numpy scalars
            return clean(x.item())
        return x

    return _write(json.dumps(clean(obj), indent=indent, allow_nan=False) + "\n", path)


def to_csv(report: EnergyReport, path: str | Path | None = None, kind: str = "layers") -> str:
    """CSV (pJ): ``kind="layers"`` per-layer rows, ``"totals"`` one row per profile."""
    if kind not in ("layers", "totals"):
        raise ValueError(f"kind must be 'layers' or 'totals', got {kind!r}")
    if kind == "layers":
        rows = [{"label": report.label, "T": report.ops.T, **r} for r in layer_rows(report)]
    else:
        rows = totals_rows(report)
    return _write(rows_to_csv(rows), path)


def _source_lines(estimates: Sequence[EnergyEstimate]) -> list[str]:
    """``- `name` (kind): source`` once per profile that priced the SNN or an ANN baseline."""
    lines = []
    seen = set()
    for e in estimates:
        for name, kind, source in (
            (e.profile, e.kind, e.source),
            (e.ann_profile, e.ann_kind, e.ann_source),
            (e.ann_int8_profile, e.ann_int8_kind, e.ann_int8_source),
        ):
            if name is None or name in seen:
                continue
            seen.add(name)
            lines.append(f"- `{name}` ({kind}): {source}")
    return lines


def _provenance_lines(report: EnergyReport) -> list[str]:
    lines = _source_lines(report.estimates)
    for e in report.estimates:
        consts = ", ".join(f"{k}={v:g}" for k, v in e.constants)
        lines.append(f"- constants of `{e.profile}` (pJ; W for chip.*): {consts}")
    for m in report.measured:
        lines.append(f"- `loihi2-board` (measured): {m.source}")
    return lines


def to_markdown(report: EnergyReport, path: str | Path | None = None) -> str:
    """A Markdown section: totals (SNN vs ANN, errors), per-layer table, provenance, assumptions."""
    ops = report.ops
    title = report.label or "SNN energy per inference"
    out = [f"### {title}", ""]
    out.append(
        f"T = {ops.T} steps, {ops.n_samples} samples, activation sparsity "
        f"{ops.activation_sparsity:.3f}, effective synaptic ops per inference "
        f"{ops.total('synaptic_ops'):.4g} (Effective_ACs {ops.total('effective_acs'):.4g}, "
        f"Effective_MACs {ops.total('effective_macs'):.4g}, Dense {ops.total('dense'):.4g}); "
        f"ANN: {report.ann.macs} MACs, {report.ann.activations} activations per inference."
    )
    if report.errors:
        out.append("Errors: " + ", ".join(f"{k} {_err(v)}" for k, v in report.errors) + ".")
    out += ["", "Totals per inference:", ""]
    hide = [
        "label",
        "T",
        "synaptic_ops",
        "ann_MACs",
        "spikes",
        "activation_sparsity",
        "snn_j",
        "ann_j",
        "ann_int8_j",
    ]
    out.append(rows_to_markdown(_drop(totals_rows(report), hide)))
    out += ["Per layer, per inference:", ""]
    out.append(rows_to_markdown(layer_rows(report)))
    out += ["Sources:", ""]
    out += _provenance_lines(report)
    out += ["", "Assumptions:", ""]
    out += [f"- {a}" for a in report.assumptions]
    return _write("\n".join(out) + "\n", path)


def to_latex(
    report: EnergyReport,
    path: str | Path | None = None,
    profile: str | None = None,
    caption: str | None = None,
    label: str | None = None,
) -> str:
    """Two booktabs tables that fit one paper column: totals per profile and per layer for
    one profile (:func:`hardware.latex_tables.column_tables`); the wide ones, every column, are
    :func:`to_latex_appendix`."""
    from hardware.latex_tables import column_tables

    return _write(column_tables(report, profile, label, caption), path)


def to_latex_appendix(
    report: EnergyReport,
    path: str | Path | None = None,
    caption: str | None = None,
    label: str | None = None,
) -> str:
    """Every column of the totals and of the per-layer rows (all profiles) as ``table*``."""
    from hardware.latex_tables import appendix_tables

    return _write(appendix_tables(report, label, caption), path)


# ----------------------------------------------------------------------------- graded spikes


def _against(r: float | None, what: str) -> str | None:
    """``loses to the INT8 ANN (3.2x its energy)`` / ``beats the FP32 ANN (0.2x its energy)`` /
    ``ties with ...``: the ratio is always the SNN's energy over the ANN's."""
    if r is None:
        return None
    if r != r:
        return f"no comparison with the {what} ANN (both cost nothing)"
    if r == float("inf"):
        return f"loses to the {what} ANN (which costs nothing)"
    if r == 0:
        return f"beats the {what} ANN (the SNN costs nothing)"
    if r > 1:
        return f"loses to the {what} ANN ({_fmt_times(r)}x its energy)"
    if r < 1:
        return f"beats the {what} ANN ({_fmt_times(r)}x its energy)"
    return f"ties with the {what} ANN"


def plain_verdict(e: EnergyEstimate) -> str:
    """Where the SNN loses or wins, in words: ``beats the FP32 ANN (0.48x its energy); loses to
    the INT8 ANN (3.2x its energy)`` (the ratios are ``snn_over_ann`` and ``snn_over_ann_int8``)."""
    parts = [_against(e.snn_over_ann, "FP32"), _against(e.snn_over_ann_int8, "INT8")]
    return "; ".join(p for p in parts if p is not None)


def _ratio_cell(r: float | None) -> str:
    if r is None:
        return "--"
    return "inf" if r == float("inf") else _fmt_times(r)


def delta_energy_table(estimates: Sequence[EnergyEstimate], *, label: str) -> str:
    """Markdown: one row per profile for a graded-spike (sigma-delta) network, then the
    constants and sources used.

    Columns: profile, kind, SNN nJ per point, FP32 ANN nJ, INT8 ANN nJ, SNN/FP32, SNN/INT8
    (``> 1``: the SNN costs more) and a verdict in words (:func:`plain_verdict`). Energies are
    per inference (one evaluation point), in nJ; the constants below the table are in pJ
    (``graded_op[w8xp16,acc24]``: one graded synaptic op with 8-bit weights, 16-bit payloads
    and a 24-bit accumulator). Typically fed from
    :func:`~hardware.energy.estimate.estimate_delta` under
    :data:`~hardware.energy.estimate.DELTA_PROFILES`.
    """
    if not isinstance(label, str):
        raise TypeError(f"label must be a string, got {type(label).__name__}")
    ests = list(estimates)
    if not ests:
        raise ValueError("estimates must hold at least one EnergyEstimate (one per profile)")
    for k, e in enumerate(ests):
        if not isinstance(e, EnergyEstimate):
            raise TypeError(f"estimates[{k}] must be an EnergyEstimate, got {type(e).__name__}")
    heads = [
        "profile",
        "kind",
        "SNN (nJ/point)",
        "FP32 ANN (nJ)",
        "INT8 ANN (nJ)",
        "SNN/FP32",
        "SNN/INT8",
        "verdict",
    ]
    out = [f"**{label}**: energy per inference (one point)", ""] if label else []
    out.append("| " + " | ".join(heads) + " |")
    out.append("|---|---|--:|--:|--:|--:|--:|---|")
    for e in ests:
        cells = [
            f"`{e.profile}`",
            e.kind,
            _nj(e.snn_total_pj),
            _nj(e.ann_total_pj),
            _nj(e.ann_int8_total_pj),
            _ratio_cell(e.snn_over_ann),
            _ratio_cell(e.snn_over_ann_int8),
            plain_verdict(e),
        ]
        out.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    out += ["", "Constants used (pJ):", ""]
    for e in ests:
        consts = ", ".join(f"{k}={v:g}" for k, v in e.constants)
        out.append(f"- `{e.profile}` ({e.kind}): {consts}")
    out += ["", "Sources:", ""]
    out += _source_lines(ests)
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------- sweeps


def summary_to_csv(reports: Sequence[EnergyReport], path: str | Path | None = None) -> str:
    return _write(rows_to_csv(summary_rows(reports)), path)


def summary_to_markdown(reports: Sequence[EnergyReport], path: str | Path | None = None) -> str:
    return _write(rows_to_markdown(summary_rows(reports)), path)


def summary_to_latex(
    reports: Sequence[EnergyReport],
    path: str | Path | None = None,
    profiles: Sequence[str] | None = None,
    caption: str | None = "Error and energy per inference",
    label: str | None = None,
) -> str:
    note = source_note(reports[0]) if reports else None
    return _write(rows_to_latex(summary_rows(reports, profiles), caption, label, note), path)


def write_all(report: EnergyReport, directory: str | Path, stem: str = "energy") -> dict[str, Path]:
    """Write ``<stem>.json``, ``<stem>_layers.csv``, ``<stem>_totals.csv``, ``.md``, ``.tex``
    (column-width tables) and ``<stem>_appendix.tex`` (the wide ones)."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": d / f"{stem}.json",
        "csv_layers": d / f"{stem}_layers.csv",
        "csv_totals": d / f"{stem}_totals.csv",
        "markdown": d / f"{stem}.md",
        "latex": d / f"{stem}.tex",
        "latex_appendix": d / f"{stem}_appendix.tex",
    }
    to_json(report, paths["json"])
    to_csv(report, paths["csv_layers"], kind="layers")
    to_csv(report, paths["csv_totals"], kind="totals")
    to_markdown(report, paths["markdown"])
    to_latex(report, paths["latex"])
    to_latex_appendix(report, paths["latex_appendix"])
    return paths


def latex_problems(text: str) -> list[str]:
    """Structural check of LaTeX written here (no TeX engine needed); ``[]`` when sound.

    Checks: ``\\begin``/``\\end`` environments balance and nest; braces balance; every
    ``tabular`` has ``\\toprule``, ``\\midrule``, ``\\bottomrule`` in that order (booktabs, no
    ``\\hline``) and every row has as many cells as its column specification has columns.
    """
    import re

    problems: list[str] = []
    stack: list[str] = []
    for m in re.finditer(r"\\(begin|end)\{([^}]*)\}", text):
        kind, env = m.groups()
        if kind == "begin":
            stack.append(env)
        elif not stack or stack.pop() != env:
            problems.append(f"\\end{{{env}}} does not close the open environment")
    problems += [f"\\begin{{{env}}} is never closed" for env in stack]
    depth = 0
    for i, c in enumerate(text):
        if c in "{}" and i > 0 and text[i - 1] == "\\":
            continue
        depth += {"{": 1, "}": -1}.get(c, 0)
        if depth < 0:
            problems.append(f"unbalanced '}}' at character {i}")
            depth = 0
    if depth:
        problems.append(f"{depth} unclosed '{{'")
    for k, m in enumerate(
        re.finditer(r"\\begin\{tabular\}\{([^}]*)\}(.*?)\\end\{tabular\}", text, re.S)
    ):
        spec, body = m.groups()
        ncol = len(re.findall(r"[lrcpXS]", spec))
        rules = re.findall(r"\\(toprule|midrule|bottomrule|hline)", body)
        if rules[:1] != ["toprule"] or rules[-1:] != ["bottomrule"] or "midrule" not in rules:
            problems.append(f"tabular {k}: booktabs rules must be toprule .. midrule .. bottomrule")
        if "hline" in rules:
            problems.append(f"tabular {k}: \\hline in a booktabs table")
        for row in re.split(r"\\\\", body):
            row = re.sub(r"\\(toprule|midrule|bottomrule)", "", row).strip()
            if not row:
                continue
            cells = len(re.findall(r"(?<!\\)&", row)) + 1
            if cells != ncol:
                problems.append(f"tabular {k}: row with {cells} cells, spec has {ncol}: {row[:60]}")
    return problems
