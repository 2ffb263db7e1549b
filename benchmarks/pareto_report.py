"""The page of ``benchmarks/pareto.py``: the table per problem, the markdown around it and the
error-vs-energy plot. Pure functions of the results dictionary that ``pareto.run`` returns."""

from __future__ import annotations

from pathlib import Path

PROFILES = ("cmos-45nm", "loihi2-lower", "loihi2-upper", "loihi")
PARETO_PROFILE = "cmos-45nm"


def _macs(v: float) -> str:
    return f"{int(v):,}" if float(v).is_integer() else f"{v:,.4g}"


def _g(v: float) -> str:
    return f"{v:.3g}" if v < 1e5 else f"{v:.3e}"


HEADS = [
    "representation", "neuron", "T", "error (rel. L2)", "error / ANN", "messages/pt",
    "graded syn. ops/pt", "binary syn. ops/pt", "ops / ANN MACs", "neurons", "synapses",
    *(f"E {p} (nJ)" for p in PROFILES), "SNN/ANN FP32", "SNN/ANN INT8", "Loihi 2 fit",
    "microcode", "Pareto",
]  # fmt: skip


def table(res: dict) -> str:
    lines = ["| " + " | ".join(HEADS) + " |", "|" + "---|" * len(HEADS)]
    for r in res["rows"]:
        if not r.get("errors"):
            cells = [r["representation"], r.get("neuron", "-"), str(r.get("T"))]
            cells += [f"**{r.get('status')}**: " + "; ".join(r.get("notes", []))]
            cells += [""] * (len(HEADS) - len(cells))
        else:
            fit = r["resources"]
            cells = [
                r["representation"],
                r["neuron"],
                str(r["T"]),
                ", ".join(f"{k} {100 * v:.3g}%" for k, v in r["errors"].items()),
                ", ".join(f"{k} {v:.3g}" for k, v in r["error_over_ann"].items()),
                _g(r["messages"]),
                _g(r["synops_graded"]),
                _g(r["synops_binary"]),
                f"{r['ops_over_ann_macs']:.3g}",
                str(r["neurons"]),
                str(r["synapses"]),
                *(f"{r['energy_pj'][p] / 1e3:.4g}" for p in PROFILES),
                f"{r['snn_over_ann_fp32']:.3g}",
                f"{r['snn_over_ann_int8']:.3g}",
                f"{'yes' if fit['fits'] else 'no'} ({fit['cores']} cores)",
                "no" if r["loihi_native"] else "yes",
                "**front**" if r.get("pareto") else "",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def loses_to_int8(res: dict) -> str:
    ok = [r for r in res["rows"] if r.get("errors")]
    if not ok:
        return "no deployed rows."
    lose = [r for r in ok if r["snn_over_ann_int8"] > 1]
    best = min(ok, key=lambda r: r["energy_pj"][PARETO_PROFILE])
    s = (
        f"{len(lose)} of {len(ok)} deployed rows use more energy than the INT8 ANN "
        f"({res['ann_int8_pj'] / 1e3:.4g} nJ) under {PARETO_PROFILE}"
    )
    s += (
        f"; the cheapest, {best['representation']} T={best['T']}, is "
        f"{best['snn_over_ann_int8']:.3g}x the INT8 ANN"
    )
    win = [r for r in ok if r["snn_over_ann_int8"] <= 1]
    if win:
        s += "; below it: " + ", ".join(f"{r['representation']} T={r['T']}" for r in win)
    return s + "."


def markdown(data: dict) -> str:
    out = [
        "# Error vs energy per inference: every representation, deployed",
        "",
        "Produced by:",
        "",
        f"    {data['command']}",
        "",
        f"{data['date']}; {data['mode']}.",
        "",
        "**Measured and estimated.** Errors, messages and synaptic ops are *measured* on the "
        "integer twins of the deployed networks (bit-exact to Lava `fixed_pt`, checked in "
        "`benchmarks/export.py` and `tests/test_sigma_delta_lava.py`). Energies are *estimated* "
        "from those counts with per-operation constants (`hardware/profiles`): `cmos-45nm` "
        "(Horowitz 2014), `loihi` (pre-silicon, Davies et al. 2018), `loihi2-lower` / "
        "`loihi2-upper` (derived bounds; Intel published no per-op Loihi 2 energies). Nothing "
        "was measured on a chip. The ANN baselines are priced at 45 nm: FP32 and INT8 MACs.",
        "",
        "**Columns.** Error: relative L2 per output field against the reference (exact, or "
        "Cole-Hopf for Burgers; gauge removed for pressure), on seeded reference-grid points "
        "(count per problem below). Error / ANN: the same over the ANN's error on the same "
        "points. Messages/pt: graded messages (sigma-delta, input encoder included) or spikes "
        "(rate, hidden layers) per point. Graded syn. ops: weight x payload multiply-accumulates "
        "(sigma-delta messages; for rate networks the analog first layer and graded-IF "
        "spikes, NeuroBench Effective_MACs); binary: accumulate-only ops (Effective_ACs). "
        "A two-group sigma-delta synapse is priced as one 16-bit-weight graded op (the graded "
        "syn. ops column counts both groups' 8-bit ops). Sigma-delta neuron updates: every "
        "neuron once per step over depth + 1 steps (a point "
        "settles in depth + 1 steps on the pipelined chip). Neurons/synapses: sigma-delta "
        "counts every layer (the encoder runs on chip; both groups of a two-group synapse); "
        "rate networks as `benchmarks/energy.py` counts them (spiking neurons; the host-side "
        "first layer excluded). SNN/ANN: under cmos-45nm. Loihi 2 fit: `hardware/resources.py` "
        "(a two-group sigma-delta synapse checked as one 8-bit Dense on the union of "
        "nonzeros: the second group's Dense is not added to the core count). Microcode: the "
        "neuron "
        "is not a Loihi 2 built-in (`NeuronModel.loihi_native` false). Pareto: not dominated "
        "in (worst-field error, cmos-45nm energy) within the problem.",
        "",
    ]
    if data.get("reductions"):
        out += [f"**Reduced for time:** {data['reductions']}", ""]
    for res in data["problems"]:
        out += [f"## {res['problem']}", ""]
        for n in res.get("notes", []):
            out.append(f"- {n}")
        if "ann_errors" not in res:
            out.append("")
            continue
        a = res["ann_errors"]
        out += [
            f"- ANN {'-'.join(map(str, res['ann_widths']))}: error "
            + ", ".join(f"{k} {100 * v:.3g}%" for k, v in a.items())
            + f" vs {res['reference']} on {res['eval_points']} of {res['grid_points']} grid "
            f"points; {_macs(res.get('ann_macs', 0))} MACs, "
            f"FP32 {res['ann_fp32_pj'] / 1e3:.4g} nJ, "
            f"INT8 {res['ann_int8_pj'] / 1e3:.4g} nJ (cmos-45nm).",
            "- Sigma-delta: where the problem has an exact solution, converted on 4,096 domain "
            "points (a tenth on the boundary) and thresholds chosen on 4,096 other uniform "
            f"domain points; else both on {res['cal_points']} other grid points (budget: "
            f"error <= {data['budget']:g} x ANN error per field, "
            "half its slack on those points).",
            f"- **Against the INT8 ANN:** {loses_to_int8(res)}",
            "",
            table(res),
        ]
        notes = [(r["representation"], r["T"], n) for r in res["rows"] for n in r.get("notes", [])]
        notes = [x for x in notes if not x[2].startswith("pending")]
        for rep, T, n in notes:
            out.append(f"- `{rep}`, T={T}: {n}")
        fig = res.get("figure")
        if fig:
            out += ["", f"![{res['problem']}](figures/{Path(fig).name})"]
        out.append("")
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------ plot
def plot(res: dict, out_dir: Path) -> Path | None:
    """Error vs cmos-45nm energy (log-log), ANN FP32/INT8 energies and ANN error as lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in res["rows"] if r.get("errors")]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(3.5, 2.8), dpi=200)
    groups: dict[str, list] = {}
    for r in rows:
        key = r["representation"].split(",")[0] if r["kind"] == "delta" else r["representation"]
        if r["kind"] == "delta":
            key += f" ({r['weight_groups']}g)"
        groups.setdefault(key, []).append(r)
    markers = "os^vDP*Xh<>"
    for k, (key, rs) in enumerate(groups.items()):
        rs = sorted(rs, key=lambda r: r["energy_pj"][PARETO_PROFILE])
        e = [r["energy_pj"][PARETO_PROFILE] * 1e-3 for r in rs]
        y = [100 * max(r["errors"].values()) for r in rs]
        ax.plot(e, y, marker=markers[k % len(markers)], ms=4, lw=0.8, label=key)
    a = 100 * max(res["ann_errors"].values())
    ax.axhline(a, color="k", lw=0.8, ls="--", label="ANN error")
    ax.axvline(res["ann_fp32_pj"] * 1e-3, color="tab:red", lw=0.8, ls=":", label="ANN FP32")
    ax.axvline(res["ann_int8_pj"] * 1e-3, color="tab:green", lw=0.8, ls=":", label="ANN INT8")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(f"energy per point (nJ), {PARETO_PROFILE}", fontsize=7)
    ax.set_ylabel("worst-field rel. L2 error (%)", fontsize=7)
    ax.set_title(res["problem"], fontsize=8)
    ax.tick_params(labelsize=6)
    ax.legend(fontsize=4.5, loc="best", framealpha=0.8)
    fig.tight_layout()
    out_dir.mkdir(parents=True, exist_ok=True)
    png = out_dir / f"pareto_{res['problem']}.png"
    fig.savefig(png)
    fig.savefig(png.with_suffix(".pdf"), metadata={"CreationDate": None})  # same bytes per rerun
    plt.close(fig)
    return png
