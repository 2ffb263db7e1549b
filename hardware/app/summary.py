"""The summary of a run directory: errors per backend and field, spike rate, energy, artifacts.

:func:`summarize` reads ``run.json``, ``predictions.npz`` and the energy record of a run
directory and returns a :class:`Summary`; :func:`to_text` is the table ``lava-pinn pipeline``
and ``lava-pinn report`` print, :func:`to_markdown` is ``DIR/report.md``
(:func:`write_report`, atomic). Errors are relative L2 norms ``||y - ref|| / ||ref||`` per
output field over the points each backend evaluated (``NaN`` rows of ``predictions.npz`` are
points a backend skipped); the spike rate is spikes per neuron per time step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hardware.app.provenance import STAGE_COMMANDS, stale_message
from hardware.app.stages import ENERGY_BACKENDS, array_key
from lava_pinn.metrics import field_errors


@dataclass(frozen=True)
class Row:
    """One evaluated model: its label, number of points, errors vs the reference and vs the
    ANN per field, and its spike rate (``None`` for the ANN)."""

    label: str
    points: int
    vs_ref: dict[str, float]
    vs_ann: dict[str, float] = field(default_factory=dict)
    spike_rate: float | None = None
    wall_s: float | None = None


@dataclass(frozen=True)
class Summary:
    """Everything the summary table shows (see the module docstring)."""

    problem: str
    path: Path
    outputs: tuple[str, ...]
    reference: str
    network: str
    rows: tuple[Row, ...]
    energy: dict[str, dict]  # profile -> {"snn_pj", "ann_pj", "kind"}
    energy_backend: str | None
    artifacts: tuple[tuple[str, Path], ...]
    figures: tuple[Path, ...]
    notes: tuple[str, ...] = ()
    resources: dict[str, dict] = field(default_factory=dict)  # backend -> Loihi 2 findings
    # (stage, "pipeline" or "by hand", "file sha256[:12], ...") of every recorded stage
    provenance: tuple[tuple[str, str, str], ...] = ()


def _errors(pred: np.ndarray, ref: np.ndarray, outputs, gauge) -> tuple[int, dict[str, float]]:
    rows = np.isfinite(pred).all(axis=1) & np.isfinite(ref).all(axis=1)
    return int(rows.sum()), field_errors(pred[rows], ref[rows], outputs, gauge)


def summarize(rd) -> Summary:
    """The :class:`Summary` of run directory ``rd`` (a :class:`~hardware.app.rundir.RunDir`);
    needs ``predictions.npz`` (``RunDirError`` naming ``lava-pinn run`` otherwise)."""
    pred = rd.load_predictions()
    problem = rd.problem_info()  # the registered problem or run.json's record of it
    ref_key = "exact" if "exact" in pred else "reference"
    if ref_key not in pred:
        from hardware.app.rundir import RunDirError

        raise RunDirError(
            f"{rd.file('predictions')} has no 'exact' or 'reference' array; re-create it with "
            f"`lava-pinn run {rd.path}`"
        )
    ref = pred[ref_key]
    k = ref.shape[1]
    outputs = tuple(problem["outputs"]) if problem else tuple(f"y{i}" for i in range(k))
    gauge = tuple(problem.get("gauge_fields") or ()) if problem else ()
    run_info = (rd.stage("run") or {}).get("info", {})
    conv = (rd.stage("convert") or {}).get("info", {})
    neurons = conv.get("neurons")
    rows = []
    ann = pred.get("ann")
    if ann is not None:
        n, e = _errors(ann, ref, outputs, gauge)
        rows.append(Row("ANN (torch)", n, e))
    notes = []
    backends = [b for b in run_info if isinstance(run_info[b], dict) and "backend" in run_info[b]]
    for b in backends:
        key = array_key(b)
        if key not in pred:
            continue
        y = pred[key]
        n, e = _errors(y, ref, outputs, gauge)
        e_ann = _errors(y, ann, outputs, ())[1] if ann is not None else {}
        bi = run_info[b]
        rate = None
        if neurons and bi.get("spikes_per_sample") is not None and bi.get("T"):
            rate = float(bi["spikes_per_sample"]) / (float(neurons) * float(bi["T"]))
        rows.append(Row(f"SNN {b}", n, e, e_ann, rate, bi.get("wall_s")))
    notes += _agreement(pred, backends)
    energy_rec = (rd.stage("energy") or {}).get("info", {})
    for stage in ("energy", "figures"):
        stale = stale_message(rd, stage)
        if stale:  # never beside results it was not made from
            notes.append(stale + ("; its numbers are left out here" if stage == "energy" else ""))
            if stage == "energy":
                energy_rec = {}
    energy_opts = (rd.stage("energy") or {}).get("options", {})
    arts = []
    from hardware.app.rundir import ARTIFACTS

    order = ("checkpoint", "snn", "network", "predictions", "activity", "energy", "report")
    specs = [(k, ARTIFACTS.get(k)) for k in order if k in ARTIFACTS]
    specs += [(k, sp) for k, sp in ARTIFACTS.items() if k not in order]
    for key, spec in specs:
        if "{backend}" in spec.filename:
            for b in backends:
                p = rd.file(key, backend=b)
                if p.is_file():
                    arts.append((f"{spec.description} ({b})", p))
        else:
            p = rd.file(key)
            if p.is_file() or key == "report":
                arts.append((spec.description, p))
    for name in ("energy.md", "energy.tex", "energy_appendix.tex", "network.net", "pipeline.log"):
        if (rd.path / name).is_file():
            arts.append((_EXTRA.get(name, name), rd.path / name))
    figs = (
        tuple(sorted((rd.path / "figures").glob("*.png"))) if (rd.path / "figures").is_dir() else ()
    )
    return Summary(
        problem=rd.problem or "?",
        path=rd.path,
        outputs=outputs,
        reference=ref_key,
        network=str(conv.get("network", "")),
        rows=tuple(rows),
        energy=dict(energy_rec.get("totals", {})),
        energy_backend=energy_rec.get("backend")
        or energy_opts.get("backend")
        or _first_energy_backend(backends),
        artifacts=tuple(arts),
        figures=figs,
        notes=tuple(notes),
        resources={b: run_info[b]["resources"] for b in backends if run_info[b].get("resources")},
        provenance=_provenance(rd),
    )


def _provenance(rd) -> tuple[tuple[str, str, str], ...]:
    """What each recorded stage was made from (digests of its inputs, as ``run.json`` has
    them) and whether the pipeline or a user's command made it (no paths: the same run gives
    the same report)."""
    stages = rd.manifest.get("stages", {})
    rows = []
    for name in [n for n in STAGE_COMMANDS if n in stages and n != "report"]:
        entry = stages[name]
        by = "pipeline" if entry.get("by", "pipeline") == "pipeline" else "by hand"
        made = ", ".join(
            f"{Path(ref).name} {(d or 'missing')[:12]}"
            for ref, d in sorted((entry.get("inputs") or {}).items())
        )
        rows.append((name, by, made or "-"))
    return tuple(rows)


_EXTRA = {
    "energy.md": "energy report (Markdown)",
    "energy.tex": "energy tables for one paper column (LaTeX, booktabs)",
    "energy_appendix.tex": "energy tables, every column (LaTeX table*, for an appendix)",
    "network.net": "lava-dl netx network",
    "pipeline.log": "what each pipeline stage printed and warned",
}


def _first_energy_backend(backends: list[str]) -> str | None:
    for b in ENERGY_BACKENDS:
        if b in backends:
            return b
    return None


def _agreement(pred: dict, backends: list[str]) -> list[str]:
    """Where Lava fixed_pt and the torch twin both evaluated points: are they equal there?"""
    if "torch-twin" not in backends:
        return []
    twin = pred.get(array_key("torch-twin"))
    out = []
    for b in backends:
        if b not in ("lava-cpu", "loihi2") or array_key(b) not in pred or twin is None:
            continue
        y = pred[array_key(b)]
        rows = np.isfinite(y).all(axis=1) & np.isfinite(twin).all(axis=1)
        if rows.any():
            same = bool(np.array_equal(y[rows], twin[rows]))
            out.append(
                f"{b} and torch-twin on the {int(rows.sum())} points both ran: "
                + ("identical outputs (bit-exact)" if same else "outputs DIFFER")
            )
    return out


def _pct(v: float | None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{100 * v:.3g}%"


def _nj(pj: float | None) -> str:
    if pj is None:
        return "-"
    nj = pj * 1e-3
    return f"{nj:.4g} nJ" if nj < 1e4 else f"{nj * 1e-3:.4g} uJ"


def _table(s: Summary, wall: bool = True) -> tuple[list[str], list[list[str]]]:
    """The accuracy table; ``wall=False`` (``report.md``) leaves the wall times out, so the
    same run gives the same file (they are in ``run.json`` and the printed summary)."""
    head = ["model", "points"]
    head += [f"{o} vs {s.reference}" for o in s.outputs]
    head += [f"{o} vs ANN" for o in s.outputs]
    head += ["spike rate", "wall"][: 2 if wall else 1]
    body = []
    for r in s.rows:
        line = [r.label, str(r.points)]
        line += [_pct(r.vs_ref.get(o)) for o in s.outputs]
        line += [_pct(r.vs_ann.get(o)) if r.vs_ann else "-" for o in s.outputs]
        line += ["-" if r.spike_rate is None else f"{r.spike_rate:.3g}"]
        if wall:
            line += ["-" if r.wall_s is None else f"{r.wall_s:.1f} s"]
        body.append(line)
    return head, body


def _energy_table(s: Summary) -> tuple[list[str], list[list[str]]]:
    head = ["profile", "kind", "ANN FP32", "ANN INT8", "SNN", "SNN vs ANN"]
    body = []
    for prof, e in s.energy.items():
        snn, ann, ann8 = e.get("snn_pj"), e.get("ann_pj"), e.get("ann_int8_pj")
        if e.get("verdict"):
            verdict = str(e["verdict"])
        else:  # a run directory priced before the INT8 baseline was recorded
            verdict = f"SNN costs {snn / ann:,.3g}x the FP32 ANN" if snn and ann else "-"
        body.append([prof, str(e.get("kind", "")), _nj(ann), _nj(ann8), _nj(snn), verdict])
    return head, body


def _fmt_text(head: list[str], body: list[list[str]]) -> list[str]:
    widths = [
        max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(head)
    ]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return [line(head), "  ".join("-" * w for w in widths), *(line(r) for r in body)]


def _fmt_md(head: list[str], body: list[list[str]]) -> list[str]:
    align = ["---"] + ["--:"] * (len(head) - 1)
    return [
        "| " + " | ".join(head) + " |",
        "|" + "|".join(align) + "|",
        *("| " + " | ".join(r) + " |" for r in body),
    ]


def to_text(s: Summary) -> str:
    """The summary table printed at the end of ``lava-pinn pipeline`` and by ``report``."""
    lines = [f"{s.problem}: {s.network}" if s.network else s.problem, ""]
    lines += ["relative L2 error (spike rate: spikes per neuron per time step)"]
    lines += _fmt_text(*_table(s))
    lines += [f"  {n}" for n in s.notes]
    if s.energy:
        lines += ["", f"energy per inference (SNN: measured activity of {s.energy_backend})"]
        lines += _fmt_text(*_energy_table(s))
    lines += ["", "artifacts"]
    w = max((len(d) for d, _ in s.artifacts), default=0)
    lines += [f"  {d.ljust(w)}  {p}" for d, p in s.artifacts]
    if s.figures:
        lines += [f"  {'figures'.ljust(w)}  {s.figures[0].parent}/ ({len(s.figures)} PNG files)"]
    return "\n".join(lines)


def to_markdown(s: Summary) -> str:
    """``DIR/report.md``: the same tables, the figures, links to the energy report."""
    lines = [f"# {s.problem}: lava-pinn run report", ""]
    if s.network:
        lines += [f"Spiking network: `{s.network}`.", ""]
    lines += [
        f"## Accuracy (relative L2 vs {s.reference} and vs the ANN)",
        "",
        *_fmt_md(*_table(s, wall=False)),
        "",
        "Spike rate: spikes per neuron per time step. Each backend's errors are over the points it "
        "evaluated (Lava: a seeded subset of the evaluation grid).",
        "",
    ]
    lines += [f"- {n}" for n in s.notes]
    if s.energy:
        lines += [
            "",
            f"## Energy per inference (SNN: measured activity of `{s.energy_backend}`)",
            "",
            *_fmt_md(*_energy_table(s)),
            "",
            "Constants, sources and assumptions: [energy.md](energy.md) "
            "(LaTeX: [energy.tex](energy.tex), one paper column; every column: "
            "[energy_appendix.tex](energy_appendix.tex)).",
        ]
    found = next(iter(s.resources.values()), None)  # the same integer network on each backend
    if found and (found.get("violations") or found.get("requirements")):
        lines += ["", "## Loihi 2 resources", ""]
        lines += [f"- does not fit: {v}" for v in found.get("violations", [])]
        lines += [f"- needs: {r}" for r in found.get("requirements", [])]
    if s.figures:
        lines += ["", "## Figures", ""]
        for f in s.figures:
            rel = f.relative_to(s.path) if f.is_relative_to(s.path) else f
            lines += [f"![{f.stem}]({rel.as_posix()})", ""]
    lines += ["## Artifacts", "", "| file | what |", "|---|---|"]
    for d, p in s.artifacts:
        rel = p.relative_to(s.path) if p.is_relative_to(s.path) else p
        lines.append(f"| `{rel.as_posix()}` | {d} |")
    if s.provenance:
        lines += ["", "## Provenance", "", "Each stage and the sha256 (first 12 hex digits) of "]
        lines[-1] += "the files it was made from; `run.json` has them in full."
        lines += ["", "| stage | made by | made from |", "|---|---|---|"]
        lines += [f"| {n} | {by} | {made} |" for n, by, made in s.provenance]
    return "\n".join(lines) + "\n"


def write_report(rd) -> Path:
    """Write ``DIR/report.md`` atomically and record stage ``report``; returns its path."""
    from lava_pinn.checkpoint import atomic_write_bytes

    with rd.writing("stage report"):
        s = summarize(rd)
        path = atomic_write_bytes(rd.file("report"), to_markdown(s).encode())
        backends = [r.label.removeprefix("SNN ") for r in s.rows if r.label.startswith("SNN ")]
        inputs = [rd.file("predictions").name, rd.file("energy").name]
        inputs += [rd.file("activity", backend=b).name for b in backends]
        rd.record(
            "report",
            {},
            {"rows": [r.label for r in s.rows]},
            inputs=[i for i in inputs if rd.digest(i) is not None],
            outputs=[path.name],
        )
    return path


__all__ = ["Row", "Summary", "summarize", "to_markdown", "to_text", "write_report"]
