"""Rows and cells of the energy reports: the per-layer and totals rows of an
:class:`~hardware.energy.estimate.EnergyReport`, their Markdown/CSV/LaTeX cells and escaping,
shared by :mod:`hardware.reports` and :mod:`hardware.latex_tables`."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hardware.energy.estimate import EnergyReport

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
