"""Energy per inference of the converted Navier-Stokes PINN, measured spikes, every profile.

    .venv/bin/python benchmarks/energy.py                      # navier-stokes-tg, T = 32 and 64
    .venv/bin/python benchmarks/energy.py --problem regression-1d --T 16 --grid-points 128

For each ``T``: convert the pretrained checkpoint with the default :func:`lava_pinn.convert`,
quantize it (:func:`exporters.quantize`), run the integer network on the torch twin over
a seeded subset of the evaluation grid (``--grid-points``; the whole grid with ``0``) and on
Lava's CPU simulator (``fixed_pt``) over the first ``--lava-points`` of them, check that both
give the same outputs and spike counts bit for bit, run the float SNN as well, and price the
measured activity under every energy profile with the ANN beside it. Writes
``docs/results/energy.md`` (per-layer tables, ANN vs SNN under each profile, errors next to
energy, the Pareto plot), ``energy.json``, ``energy.tex`` (booktabs; checked structurally) and
``docs/results/figures/energy_pareto.png``.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import hardware  # noqa: E402
from hardware import plots, reports  # noqa: E402
from hardware.costing import energy_report  # noqa: E402
from hardware.energy import DEFAULT_PROFILES  # noqa: E402
from hardware.resources import LoihiResourceWarning  # noqa: E402
from hardware.runner import LoadedNetwork, resource_check, versions  # noqa: E402
from lava_pinn.checkpoint import atomic_write_bytes  # noqa: E402

PARETO_PROFILE = "cmos-45nm"


def rel_l2(pred: np.ndarray, ref: np.ndarray, outputs, gauge=()) -> dict[str, float]:
    from lava_pinn.metrics import field_errors

    return field_errors(pred, ref, outputs, gauge)


def mean_error(errs: dict[str, float]) -> float:
    return float(np.mean(list(errs.values())))


def convert(problem_name: str, T: int, cache: Path | None):
    import lava_pinn
    from lava_pinn.checkpoint import load_pretrained
    from lava_pinn.conversion.network import SpikingNetwork

    path = cache / f"{problem_name}_T{T}.snn.pt" if cache else None
    if path is not None and path.is_file():
        print(f"  loading the converted SNN from {path}")
        snn = SpikingNetwork.load(path)
        return snn, float(snn.metadata.get("convert_seconds", 0.0))  # as timed when converted
    t0 = time.perf_counter()
    snn = lava_pinn.convert(load_pretrained(problem_name), None, T=T)
    secs = time.perf_counter() - t0
    if path is not None:
        snn.save(path)
    return snn, secs


def study(args, problem, ck, T: int, idx: np.ndarray) -> dict:
    from exporters.quantizer import quantize
    from lava_pinn.training import predict

    print(f"T = {T}")
    snn, conv_s = convert(problem.name, T, args.cache)
    print(f"  converted: {snn} in {conv_s:.1f} s ({snn.metadata.get('representation')}, "
          f"{snn.metadata.get('calibration')})")  # fmt: skip
    t0 = time.perf_counter()
    qopts = {"search": not args.no_search}
    if args.no_refit:
        qopts["refit"] = False
    inet, qrep = quantize(snn, None, **qopts)
    q_s = time.perf_counter() - t0
    print(f"  quantized in {q_s:.1f} s")
    net = LoadedNetwork(inet, snn, f"{problem.name} T={T}", dict(snn.metadata))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LoihiResourceWarning)
        res = resource_check(inet)
    ref = problem.reference()
    x = ref.points.numpy()[idx]
    exact = ref.values.numpy()[idx]
    ann = predict(ck.model, problem, torch.from_numpy(x), ck.hard_bc).numpy()
    outs, gauge = problem.outputs, problem.gauge_fields
    err_ann = rel_l2(ann, exact, outs, gauge)
    runs = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LoihiResourceWarning)  # reported once, above
        for b, pts in (("torch-float", x), ("torch-twin", x), ("lava-cpu", x[: args.lava_points])):
            opts = {"batch": args.batch} if b == "lava-cpu" else {}
            r = hardware.run(net, pts, backend=b, check_resources=False, **opts)
            errs = rel_l2(r.y, exact[: r.n_points], outs, gauge)
            print(f"  {b:12s} {r.n_points:6d} points {r.wall_s:8.1f} s  "
                  + ", ".join(f"{k} {100 * v:.3g}%" for k, v in errs.items()))  # fmt: skip
            runs[b] = (r, errs)
    twin, lava = runs["torch-twin"][0], runs["lava-cpu"][0]
    k = lava.n_points
    same = bool(
        np.array_equal(twin.y[:k], lava.y)
        and all(np.array_equal(a[:k], b) for a, b in zip(twin.events, lava.events, strict=True))
    )
    print(f"  twin == lava-cpu on {k} points (outputs and spike counts): {same}")
    labels = {"torch-twin": "integer SNN", "torch-float": "float SNN", "lava-cpu": "integer SNN"}
    reps = {
        b: energy_report(
            r, errors=errs, label=f"{labels[b]} ({b}), T={T}", profiles=DEFAULT_PROFILES
        )
        for b, (r, errs) in runs.items()
    }
    e_same = all(
        reps["lava-cpu"].estimate_for(p).snn_total_pj
        == energy_report(_head(twin, k), profiles=[p]).estimate_for(p).snn_total_pj
        for p in DEFAULT_PROFILES
    )
    return {
        "T": T,
        "snn": snn,
        "inet": inet,
        "quantization": qrep,
        "convert_s": conv_s,
        "quantize_s": q_s,
        "resources": res,
        "resource_warnings": [str(w.message) for w in caught],
        "ann_errors": err_ann,
        "runs": runs,
        "reports": reps,
        "twin_equals_lava": same,
        "energy_equal_on_lava_points": e_same,
    }


def _head(result, k: int):
    """The first ``k`` points of a RunResult (for comparing with a shorter Lava run)."""
    import dataclasses

    return dataclasses.replace(
        result,
        y=result.y[:k],
        counts=tuple(c[:k] for c in result.counts),
        events=tuple(e[:k] for e in result.events),
    )


# ------------------------------------------------------------------------------ outputs
def _fmt_err(errs: dict[str, float]) -> str:
    return ", ".join(f"{k} {100 * v:.3g}%" for k, v in errs.items())


def summary_table(studies: list[dict]) -> str:
    heads = ["T", "network", "errors (rel. L2)", "sparsity", "syn. ops"]
    heads += [f"E_SNN {p} (nJ)" for p in DEFAULT_PROFILES] + ["E_ANN cmos-45nm (nJ)"]
    heads += [f"ANN/SNN {p}" for p in DEFAULT_PROFILES]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for s in studies:
        for b in ("torch-float", "torch-twin"):
            rep = s["reports"][b]
            cells = [
                str(s["T"]),
                "float SNN" if b == "torch-float" else "integer SNN (Loihi 2 fixed point)",
                _fmt_err(dict(rep.errors)),
                f"{rep.ops.activation_sparsity:.3f}",
                f"{rep.ops.total('synaptic_ops'):.4g}",
            ]
            cells += [f"{rep.estimate_for(p).snn_total_pj * 1e-3:.4g}" for p in DEFAULT_PROFILES]
            cells.append(f"{rep.estimates[0].ann_total_pj * 1e-3:.4g}")
            cells += [f"{rep.estimate_for(p).ratio_ann_over_snn:.3g}" for p in DEFAULT_PROFILES]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_markdown(args, problem, studies, ann_grid, n_points, path: Path, figure: Path) -> None:
    v = versions()
    first = studies[0]
    snn = first["snn"]
    m = snn.metadata
    out = [
        f"# Energy per inference: {problem.name}",
        "",
        "Produced by `.venv/bin/python benchmarks/energy.py "
        + " ".join(args.argv)
        + f"` on {datetime.now(timezone.utc):%Y-%m-%d} ({platform.machine()}, "
        f"{torch.get_num_threads()} torch threads; lava-nc {v['lava-nc']}, torch {v['torch']}, "
        f"lava-pinn {v['lava-pinn']}).",
        "",
        "**What is measured and what is estimated.** Spike counts are *measured*: the integer "
        "network runs on the bit-exact torch twin over the evaluation points and on Lava's CPU "
        "simulator (`fixed_pt`) over a subset, and the two agree spike for spike. Energies are "
        "*estimated* from those counts with per-operation constants: `loihi` is pre-silicon "
        "(Davies et al. 2018), `cmos-45nm` the usual 45 nm convention (Horowitz 2014), and "
        "`loihi2` an **assumption** (Intel published no per-operation energies for Loihi 2; the "
        "profile reuses Loihi's numbers as an upper bound). No energy here was measured on "
        "a chip.",
        "",
        "## Setup",
        "",
        f"- Network: pretrained `{problem.name}` PINN, ANN {'-'.join(map(str, first['reports']['torch-twin'].ann.widths))} "  # noqa: E501
        f"({', '.join(dict.fromkeys(m.get('activations', [])))}); ANN rel. L2 on the whole grid: "
        f"{_fmt_err(ann_grid)}.",
        f"- Conversion: `lava_pinn.convert(checkpoint, T=T)` defaults: representation "
        f"`{m.get('representation')}` ({m.get('pieces')} pieces), neuron `{m.get('neuron')}`, "
        f"calibration `{m.get('calibration')}`; SNN {snn} with {snn.neurons} spiking neurons "
        f"and {snn.synapses} synapses.",
        "- Quantization: `exporters.quantize(snn)` (8-bit Dense weights with a "
        "per-layer exponent, 24-bit neuron state, host-side first layer).",
        f"- Evaluation: {n_points} seeded points of the {problem.reference().points.shape[0]}-"
        f"point evaluation grid (seed {args.seed}); Lava `fixed_pt` on the first "
        f"{args.lava_points} of them.",
        "- Errors: relative L2 against the exact solution on those points, per output field"
        + (
            f" ({', '.join(problem.gauge_fields)} after removing its mean)"
            if problem.gauge_fields
            else ""
        )  # noqa: E501
        + ".",
        "",
        "## ANN vs SNN under each profile (per inference)",
        "",
        summary_table(studies),
        "Sparsity: NeuroBench activation sparsity (1 - spikes / (spiking neurons x T)). Syn. ops: "
        "NeuroBench effective synaptic operations per inference (Effective_ACs + "
        "Effective_MACs; the analog first layer counts as MACs every step). E_ANN: the ANN's "
        "MACs x 4.6 pJ. ANN/SNN > 1 means the SNN needs less energy.",
        "",
        "Timings and checks:",
        "",
    ]
    for s in studies:
        r = s["runs"]
        out.append(
            f"- T = {s['T']}: convert {s['convert_s']:.0f} s (wall, on a shared machine), "
            f"quantize {s['quantize_s']:.0f} s; "
            f"twin {r['torch-twin'][0].wall_s:.0f} s for {r['torch-twin'][0].n_points} points, "
            f"Lava fixed_pt {r['lava-cpu'][0].wall_s:.0f} s for {r['lava-cpu'][0].n_points} points; "  # noqa: E501
            f"twin == Lava on those points (outputs and every spike count): "
            f"**{'yes' if s['twin_equals_lava'] else 'NO'}**; identical energy estimates: "
            f"**{'yes' if s['energy_equal_on_lava_points'] else 'NO'}**."
        )
    res = studies[-1]["resources"]
    out += [
        "",
        "## Loihi 2 resource check",
        "",
        f"{res.cores} cores, {res.chips} chip(s), {res.neurons} neurons, {res.synapses} synapses "
        f"(T = {studies[-1]['T']}); fits: {'yes' if res.fits else 'no'}.",
        "",
    ]
    warned = dict.fromkeys(
        w.removeprefix("Loihi 2 resource check: ") for w in studies[-1]["resource_warnings"]
    )
    out += [f"- {w}" for w in warned] or ["- nothing the chip cannot take"]
    out += [
        "",
        "## Energy vs error",
        "",
        f"![Pareto plot]({figure.relative_to(path.parent).as_posix()})",
        "",
        f"SNN energy per inference under `{PARETO_PROFILE}` against the mean relative L2 error "
        "over the output fields, for each T and network (float SNN, integer SNN); the star is "
        "the ANN.",
        "",
        "## Per layer",
        "",
    ]
    for s in studies:
        out.append(
            reports.to_markdown(s["reports"]["torch-twin"]).replace("### ", "### Per layer: ")
        )
    atomic_write_bytes(path, ("\n".join(out) + "\n").encode("utf-8"))


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--problem", default="navier-stokes-tg")
    p.add_argument("--T", type=int, nargs="+", default=[32, 64])
    p.add_argument("--grid-points", type=int, default=256, help="0: the whole grid")
    p.add_argument("--lava-points", type=int, default=16)
    p.add_argument("--batch", type=int, default=16, help="Lava points per graph run")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-search", action="store_true", help="quantize without the scale search")
    p.add_argument(
        "--no-refit", action="store_true", help="quantize without the twin-scored readout refit"
    )
    p.add_argument("--cache", type=Path, help="folder to keep converted SNNs between runs")
    p.add_argument("--out", type=Path, default=REPO / "docs" / "results")
    args = p.parse_args(argv)
    args.argv = argv
    torch.set_num_threads(args.threads)
    if args.cache:
        args.cache.mkdir(parents=True, exist_ok=True)
    from lava_pinn.checkpoint import load_pretrained
    from lava_pinn.problems import get_problem
    from lava_pinn.training import evaluate

    ck = load_pretrained(args.problem)
    problem = get_problem(args.problem, **ck.problem_params)
    n = problem.reference().points.shape[0]
    k = n if args.grid_points <= 0 or args.grid_points >= n else args.grid_points
    idx = np.arange(n) if k == n else np.random.default_rng(args.seed).choice(n, k, replace=False)
    ann_grid = evaluate(ck)
    print(f"{args.problem}: ANN {_fmt_err(ann_grid)} on the grid; {k} of {n} points")
    studies = [study(args, problem, ck, T, idx) for T in args.T]

    out = args.out
    figs = out / "figures"
    all_reports = [s["reports"][b] for s in studies for b in ("torch-float", "torch-twin")]
    pts = []
    for s in studies:
        for b, name in (("torch-float", "float SNN"), ("torch-twin", "integer SNN")):
            rep = s["reports"][b]
            e = rep.estimate_for(PARETO_PROFILE)
            pts.append(plots.ParetoPoint(name, s["T"], e.snn_total_j, mean_error(dict(rep.errors))))
    ann_rep = studies[0]["reports"]["torch-twin"].estimate_for(PARETO_PROFILE)
    ann_pt = (ann_rep.ann_total_j, mean_error(studies[0]["ann_errors"]))
    fig = plots.plot_pareto(
        pts,
        figs / "energy_pareto.png",
        ann=ann_pt,
        xlabel=f"energy per inference (J), {PARETO_PROFILE}",
    )
    tex = reports.summary_to_latex(
        all_reports,
        caption=f"{args.problem}: error and energy per inference (nJ)",
        label="tab:energy",
    )
    tex += "\n" + reports.to_latex(
        studies[-1]["reports"]["torch-twin"],
        caption=f"{args.problem}, integer SNN, T = {studies[-1]['T']}",
        label="tab:energy-T",
    )
    problems = reports.latex_problems(tex)
    if problems:
        raise SystemExit("energy.tex is malformed: " + "; ".join(problems))
    atomic_write_bytes(out / "energy.tex", tex.encode("utf-8"))
    reports.to_json(
        {
            "problem": args.problem,
            "versions": versions(),
            "points": int(k),
            "grid_points": int(n),
            "lava_points": args.lava_points,
            "ann_errors_grid": ann_grid,
            "runs": [
                {
                    "T": s["T"],
                    "convert_s": s["convert_s"],
                    "quantize_s": s["quantize_s"],
                    "twin_equals_lava": s["twin_equals_lava"],
                    "energy_equal_on_lava_points": s["energy_equal_on_lava_points"],
                    "ann_errors": s["ann_errors"],
                    "wall_s": {b: r.wall_s for b, (r, _) in s["runs"].items()},
                    "reports": {b: rep.to_dict() for b, rep in s["reports"].items()},
                    "resources": s["resources"].to_dict(),
                }
                for s in studies
            ],
        },
        out / "energy.json",
    )
    write_markdown(args, problem, studies, ann_grid, k, out / "energy.md", fig)
    print(summary_table(studies))
    print(f"wrote {out / 'energy.md'}, energy.json, energy.tex, {fig}")
    return 0 if all(s["twin_equals_lava"] for s in studies) else 1


if __name__ == "__main__":
    sys.exit(main())
