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

import csv
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hardware.energy.estimate import EnergyEstimate, EnergyReport, _fmt_times

Row = dict[str, Any]
_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def latex_escape(text: str) -> str:
    """Escape LaTeX specials (``\\ & % $ # _ { } ~ ^``); straight quotes become TeX quotes."""
    out, opening = [], True
    for c in str(text):
        if c == '"':
            out.append("``" if opening else "''")
            opening = not opening
        else:
            out.append(_LATEX_SPECIAL.get(c, c))
    return "".join(out)


def _nj(pj: float | None) -> str:
    if pj is None:
        return "--"
    return f"{pj * 1e-3:.3g}"


def _num(v: Any) -> str:
    if v is None:
        return "--"
    if isinstance(v, float):
        if math.isinf(v):
            return "inf"
        if v == int(v) and abs(v) < 1e15:
            return str(int(v))
        return f"{v:.4g}"
    return str(v)


def _err(v: float) -> str:
    return f"{100 * v:.3g}%"


def _write(text: str, path: str | Path | None) -> str:
    """Return ``text``; also write it to ``path`` atomically (never half-written) if given."""
    if path is not None:
        from lava_pinn.checkpoint import atomic_write_bytes

        atomic_write_bytes(path, text.encode("utf-8"))
    return text


# ----------------------------------------------------------------------------- rows


def layer_rows(report: EnergyReport, profiles: Sequence[str] | None = None) -> list[Row]:
    """One row per layer: counts per inference, SNN energy per profile (pJ), ANN MACs and pJ.

    ANN columns are filled where the ANN has the same number of layers as the SNN.
    """
    ests = [report.estimate_for(p) for p in profiles] if profiles else list(report.estimates)
    aligned = len(report.ann.macs_per_layer) == len(report.ops.layers)
    rows = []
    for k, la in enumerate(report.ops.layers):
        row: Row = {
            "layer": la.name,
            "neuron": la.neuron,
            "n_in": la.n_in,
            "n_out": la.n_out,
            "spikes": la.spikes,
            "firing_rate": la.firing_rate,
            "Effective_ACs": la.effective_acs,
            "Effective_MACs": la.effective_macs,
            "Dense": la.dense,
            "neuron_updates": la.neuron_updates,
        }
        for e in ests:
            row[f"snn_pj[{e.profile}]"] = e.snn_layers[k].total_pj
        row["ann_MACs"] = report.ann.macs_per_layer[k] if aligned else None
        for e in ests:
            row[f"ann_pj[{e.ann_profile}]"] = e.ann_layers[k].total_pj if aligned else None
        for e in ests:
            if e.ann_int8_layers is not None:
                row[f"ann_int8_pj[{e.ann_int8_profile}]"] = (
                    e.ann_int8_layers[k].total_pj if aligned else None
                )
        rows.append(row)
    return rows


def totals_rows(report: EnergyReport) -> list[Row]:
    """One row per profile: SNN and ANN totals (pJ), their ratios, provenance and the errors.

    The ANN is priced in FP32 (``ann_*``, the keys of earlier reports) and in INT8
    (``ann_int8_*``); ``verdict`` says in words how many times either the SNN costs.
    """
    rows = []
    tot = report.ops.totals()
    for e in report.estimates:
        row: Row = {
            "label": report.label,
            "T": report.ops.T,
            "profile": e.profile,
            "kind": e.kind,
            "snn_pj": e.snn_total_pj,
            "snn_j": e.snn_total_j,
            "ann_profile": e.ann_profile,
            "ann_kind": e.ann_kind,
            "ann_pj": e.ann_total_pj,
            "ann_j": e.ann_total_j,
            "ann_over_snn": e.ratio_ann_over_snn,
            "ann_int8_pj": e.ann_int8_total_pj,
            "ann_int8_j": e.ann_int8_total_j,
            "ann_int8_over_snn": e.ratio_ann_int8_over_snn,
            "verdict": e.verdict,
            "static_pj": e.static_pj,
            "synaptic_ops": tot["synaptic_ops"],
            "ann_MACs": report.ann.macs,
            "spikes": tot["spikes"],
            "activation_sparsity": report.ops.activation_sparsity,
        }
        for name, v in report.errors:
            row[f"error[{name}]"] = v
        rows.append(row)
    for m in report.measured:
        d = m.to_dict()
        row = {
            "label": report.label,
            "T": report.ops.T,
            "profile": "loihi2-board",
            "kind": d["kind"],
            "snn_pj": d["total_j_per_inference"] * 1e12,
            "snn_j": d["total_j_per_inference"],
        }
        for name, v in report.errors:
            row[f"error[{name}]"] = v
        rows.append(row)
    return rows


def summary_rows(
    reports: Sequence[EnergyReport], profiles: Sequence[str] | None = None
) -> list[Row]:
    """One row per run (a ``T`` or a method): errors, activity and SNN/ANN energy per profile."""
    rows = []
    for r in reports:
        ests = [r.estimate_for(p) for p in profiles] if profiles else list(r.estimates)
        row: Row = {"label": r.label, "T": r.ops.T}
        for name, v in r.errors:
            row[f"error[{name}]"] = v
        row["activation_sparsity"] = r.ops.activation_sparsity
        row["synaptic_ops"] = r.ops.total("synaptic_ops")
        row["ann_MACs"] = r.ann.macs
        for e in ests:
            row[f"snn_pj[{e.profile}]"] = e.snn_total_pj
        for e in ests:
            row[f"ann_pj[{e.ann_profile}]"] = e.ann_total_pj
        for e in ests:
            if e.ann_int8_total_pj is not None:
                row[f"ann_int8_pj[{e.ann_int8_profile}]"] = e.ann_int8_total_pj
        for e in ests:
            row[f"verdict[{e.profile}]"] = e.verdict
        rows.append(row)
    return rows


# ----------------------------------------------------------------------------- generic tables


def _headers(rows: Sequence[Row]) -> list[str]:
    heads: list[str] = []
    for r in rows:
        heads += [k for k in r if k not in heads]
    return heads


def rows_to_csv(rows: Sequence[Row]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=_headers(rows), lineterminator="\n", restval="")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if v is None else v) for k, v in r.items()})
    return buf.getvalue()


def _pretty(key: str) -> str:
    """Display name of a row key: energies in nJ, errors as percentages."""
    for pre, unit in (
        ("snn_pj[", "E_SNN"),
        ("ann_pj[", "E_ANN FP32"),
        ("ann_int8_pj[", "E_ANN INT8"),
    ):
        if key.startswith(pre):
            return f"{unit} {key[len(pre) : -1]} (nJ)"
    if key.startswith("error["):
        return f"error {key[6:-1]}"
    if key.startswith("verdict["):
        return f"SNN vs ANN, {key[8:-1]}"
    return {
        "snn_pj": "E_SNN (nJ)",
        "ann_pj": "E_ANN FP32 (nJ)",
        "ann_int8_pj": "E_ANN INT8 (nJ)",
        "static_pj": "static (nJ)",
        "ann_over_snn": "E_ANN FP32/E_SNN",
        "ann_int8_over_snn": "E_ANN INT8/E_SNN",
        "verdict": "SNN vs ANN",
        "firing_rate": "rate",
        "activation_sparsity": "act. sparsity",
    }.get(key, key)


def _cell(key: str, v: Any) -> str:
    if key.endswith("_pj") or "_pj[" in key:
        return _nj(v)
    if key.startswith("error[") and v is not None:
        return _err(v)
    return _num(v)


def _drop(rows: Sequence[Row], keys: Sequence[str]) -> list[Row]:
    return [{k: v for k, v in r.items() if k not in keys} for r in rows]


def _is_text(rows: Sequence[Row], key: str) -> bool:
    return any(isinstance(r.get(key), str) for r in rows)


def rows_to_markdown(rows: Sequence[Row]) -> str:
    heads = _headers(rows)
    out = ["| " + " | ".join(_pretty(h) for h in heads) + " |"]
    out.append("|" + "|".join("---" if _is_text(rows, h) else "--:" for h in heads) + "|")
    for r in rows:
        out.append("| " + " | ".join(_cell(h, r.get(h)).replace("|", "/") for h in heads) + " |")
    return "\n".join(out) + "\n"


def rows_to_latex(
    rows: Sequence[Row],
    caption: str | None = None,
    label: str | None = None,
    note: str | None = None,
) -> str:
    """A booktabs ``table`` (needs ``\\usepackage{booktabs}``); every cell is escaped.

    ``note`` (plain text, escaped) goes in small print under the tabular: sources, units.
    """
    heads = _headers(rows)
    align = "".join("l" if _is_text(rows, h) else "r" for h in heads)
    lines = [r"\begin{table}[htbp]", r"\centering"]
    if caption:
        lines.append(r"\caption{" + latex_escape(caption) + "}")
    if label:
        lines.append(r"\label{" + latex_escape(label) + "}")
    lines += [r"\begin{tabular}{" + align + "}", r"\toprule"]
    lines.append(" & ".join(latex_escape(_pretty(h)) for h in heads) + r" \\")
    lines.append(r"\midrule")
    for r in rows:
        lines.append(" & ".join(latex_escape(_cell(h, r.get(h))) for h in heads) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    if note:
        lines.append(r"\par\smallskip{\footnotesize " + latex_escape(note) + "}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- one run


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


def source_note(report: EnergyReport) -> str:
    """One line of provenance: every profile used, its kind and its source."""
    seen: dict[str, str] = {}
    for e in report.estimates:
        seen.setdefault(e.profile, f"{e.profile} ({e.kind}): {e.source}")
        seen.setdefault(e.ann_profile, f"{e.ann_profile} ({e.ann_kind}): {e.ann_source}")
        if e.ann_int8_profile is not None:
            seen.setdefault(
                e.ann_int8_profile,
                f"{e.ann_int8_profile} ({e.ann_int8_kind}): {e.ann_int8_source}",
            )
    for m in report.measured:
        seen.setdefault("loihi2-board", f"loihi2-board (measured): {m.source}")
    return "Energies per inference. Sources: " + "; ".join(seen.values()) + "."


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
    """``loses to the INT8 ANN 3.2x`` / ``beats the FP32 ANN 5.1x`` / ``ties with ...``."""
    if r is None:
        return None
    if r != r:
        return f"no comparison with the {what} ANN (both cost nothing)"
    if r == float("inf"):
        return f"loses to the {what} ANN (which costs nothing)"
    if r == 0:
        return f"beats the {what} ANN (the SNN costs nothing)"
    if r > 1:
        return f"loses to the {what} ANN {_fmt_times(r)}x"
    if r < 1:
        return f"beats the {what} ANN {_fmt_times(1 / r)}x"
    return f"ties with the {what} ANN"


def plain_verdict(e: EnergyEstimate) -> str:
    """Where the SNN loses or wins, in words: ``beats the FP32 ANN 2.1x; loses to the INT8 ANN
    3.2x`` (the ratios are ``snn_over_ann`` and ``snn_over_ann_int8``)."""
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
