"""Energy per inference of the converted Navier-Stokes PINN, measured spikes, every profile.

    .venv/bin/python benchmarks/energy.py                      # navier-stokes-tg, T = 32 and 64
    .venv/bin/python benchmarks/energy.py --problem regression-1d --T 16 --grid-points 128
    .venv/bin/python benchmarks/energy.py --T 64 --method pwl:24:0.75/graded-if/none \
        --cal-boundary 0.25 --weight-groups 2 --quant-search off   # the deployed NS network

For each ``T``: convert the pretrained checkpoint with the default :func:`lava_pinn.convert`
(or, given any of ``--method``, ``--cal-points``, ``--cal-boundary``, ``--weight-groups``,
``--quant-search``, exactly as ``benchmarks/export.py`` converts and quantizes with those
options: the same option parsing, calibration points and quantizer settings),
quantize it (:func:`exporters.quantize`), run the integer network on the torch twin over
a seeded subset of the evaluation grid (``--grid-points``; the whole grid with ``0``) and on
Lava's CPU simulator (``fixed_pt``) over the first ``--lava-points`` of them, check that both
give the same outputs and spike counts bit for bit, run the float SNN as well, and price the
measured activity under every energy profile with the ANN beside it, in FP32 and in INT8.
Rows are merged into ``energy.json`` by (method, T): rows of other methods or ``T`` are kept
(and re-priced from their stored counts, so a new baseline needs no re-run). Writes
``docs/results/energy.md`` (per-layer tables, ANN vs SNN under each profile, errors next to
energy, the Pareto plot), ``energy.json``, ``energy.tex`` (booktabs; checked structurally) and
``docs/results/figures/energy_pareto.png``.
"""

from __future__ import annotations

import argparse
import json
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
DEFAULT_METHOD = "default"  # the method label of lava_pinn.convert's and quantize's defaults
# the command of the rows written before energy.json recorded one per row
LEGACY_COMMAND = (
    ".venv/bin/python benchmarks/energy.py --T 32 64 --no-search --no-refit --grid-points 128 "
    "--lava-points 16 --cache /tmp/e_cache"
)


def add_conversion_options(parser: argparse.ArgumentParser) -> dict[str, object]:
    """``benchmarks/export.py``'s conversion options on ``parser``, unset (``None``) so that
    :func:`resolve_conversion` can tell which were given; returns export's defaults by dest."""
    from benchmarks import export

    export.add_conversion_args(parser, unset=True)
    return dict(export.CONVERSION_DEFAULTS)


def resolve_conversion(args: argparse.Namespace, defaults: dict[str, object]) -> bool:
    """Fill export's defaults in; ``True`` where any conversion option was given."""
    given = any(getattr(args, d) is not None for d in defaults)
    for d, v in defaults.items():
        if getattr(args, d) is None:
            setattr(args, d, v)
    return given


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

    print(f"T = {T} ({args.method_label})")
    if args.export_conversion:  # exactly as benchmarks/export.py converts and quantizes
        from benchmarks.export import convert_cached, quantize_net
        from lava_pinn.conversion.convert import default_calibration_points

        x_cal = default_calibration_points(
            ck.problem, ck.problem_params, args.cal_points, seed=0, boundary=args.cal_boundary
        )
        snn, conv_s = convert_cached(ck, x_cal, T, args.method, args.cache)
        print(f"  converted: {snn} in {conv_s:.1f} s")
        inet, qrep, q_s, _ = quantize_net(snn, x_cal, args)
    else:
        snn, conv_s = convert(problem.name, T, args.cache)
        print(f"  converted: {snn} in {conv_s:.1f} s ({snn.metadata.get('representation')}, "
              f"{snn.metadata.get('calibration')})")  # fmt: skip
        t0 = time.perf_counter()
        qopts = {"search": not args.no_search}
        if args.no_refit:
            qopts["refit"] = False
        inet, qrep = quantize(snn, None, **qopts)
        q_s = time.perf_counter() - t0
    print(f"  quantized in {q_s:.1f} s", flush=True)
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
        # counted as benchmarks/export.py counts them: spiking neurons; Dense synapses on chip
        # (both groups of a two-group synapse, the host-side first layer excluded)
        "neurons": int(sum(la.n_out for la in inet.hidden)),
        "synapses": int(
            sum(
                np.count_nonzero(w) for la in (*inet.hidden[1:], inet.readout) for w, _ in la.groups
            )
        ),
        "conversion": {
            k: m
            for k in ("representation", "pieces", "neuron", "calibration")
            if (m := snn.metadata.get(k)) is not None
        },
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


def run_entry(s: dict, args, n_points: int) -> dict:
    """The JSON row of one study (one method, one T): everything the tables are made from."""
    return {
        "method": args.method_label,
        "T": s["T"],
        "command": args.command,
        "date": f"{datetime.now(timezone.utc):%Y-%m-%d}",
        "points": int(n_points),
        "lava_points": int(s["runs"]["lava-cpu"][0].n_points),
        "seed": args.seed,
        "neurons": s["neurons"],
        "synapses": s["synapses"],
        "conversion": {str(k): v for k, v in s["conversion"].items()},
        "convert_s": s["convert_s"],
        "quantize_s": s["quantize_s"],
        "twin_equals_lava": s["twin_equals_lava"],
        "energy_equal_on_lava_points": s["energy_equal_on_lava_points"],
        "ann_errors": s["ann_errors"],
        "wall_s": {b: r.wall_s for b, (r, _) in s["runs"].items()},
        "reports": {b: rep.to_dict() for b, rep in s["reports"].items()},
        "resources": s["resources"].to_dict(),
        "resource_warnings": list(s["resource_warnings"]),
    }


def _key(run: dict) -> tuple:
    return (run.get("method", DEFAULT_METHOD) != DEFAULT_METHOD, run.get("method", ""), run["T"])


def merge(disk: dict | None, new: dict) -> dict:
    """``new`` (this invocation) merged into ``disk``: rows by (method, T); the others kept.

    Rows written before rows carried their own method and command get them here (the default
    conversion, :data:`LEGACY_COMMAND`, the file's point counts).
    """
    if not disk or disk.get("problem") != new["problem"]:
        if disk:
            print(f"  energy.json holds {disk.get('problem')!r}, not {new['problem']!r}: replaced")
        return new
    old = []
    for r in disk.get("runs", []):
        r = dict(r)
        r.setdefault("method", DEFAULT_METHOD)
        r.setdefault("command", LEGACY_COMMAND)
        r.setdefault("points", disk.get("points"))
        r.setdefault("lava_points", disk.get("lava_points"))
        old.append(r)
    keys = {(r["method"], r["T"]) for r in new["runs"]}
    runs = [r for r in old if (r["method"], r["T"]) not in keys] + list(new["runs"])
    out = {**disk, **{k: v for k, v in new.items() if k not in ("runs", "points", "lava_points")}}
    for k in ("points", "lava_points"):  # kept as first written (rows carry their own)
        out.setdefault(k, new[k])
    out["runs"] = sorted(runs, key=_key)
    return out


def _network(run: dict, backend: str) -> str:
    kind = "float SNN" if backend == "torch-float" else "integer SNN"
    m = run["method"]
    if m == DEFAULT_METHOD:
        c = run.get("conversion") or {}
        m = "default " + ("/".join(c[k] for k in ("representation", "neuron", "calibration"))
                          if c else "pwl/if/advanced")  # fmt: skip
    return f"{kind}, `{m}`"


def _reports(run: dict):
    """The run's reports rebuilt from their stored counts, priced under today's profiles."""
    from hardware.energy import report_from_dict

    return {b: report_from_dict(d) for b, d in run["reports"].items()}


def summary_table(runs: list[dict]) -> str:
    heads = ["network", "T", "points", "errors (rel. L2)", "sparsity", "syn. ops"]
    heads += [f"E_SNN {p} (nJ)" for p in DEFAULT_PROFILES]
    heads += ["E_ANN FP32 (nJ)", "E_ANN INT8 (nJ)"]
    heads += ["SNN vs ANN, cmos-45nm", "SNN vs ANN, loihi (pre-silicon)"]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for run in runs:
        reps = _reports(run)
        for b in ("torch-float", "torch-twin"):
            rep = reps[b]
            e45 = rep.estimate_for("cmos-45nm")
            cells = [
                _network(run, b),
                str(run["T"]),
                str(run.get("points")),
                _fmt_err(dict(rep.errors)),
                f"{rep.ops.activation_sparsity:.3f}",
                f"{rep.ops.total('synaptic_ops'):.4g}",
            ]
            cells += [f"{rep.estimate_for(p).snn_total_pj * 1e-3:.4g}" for p in DEFAULT_PROFILES]
            cells += [f"{e45.ann_total_pj * 1e-3:.4g}", f"{e45.ann_int8_total_pj * 1e-3:.4g}"]
            cells += [e45.verdict, rep.estimate_for("loihi").verdict]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_markdown(data: dict, path: Path, figure: Path) -> None:
    from lava_pinn.problems import get_problem

    runs = data["runs"]
    v = data["versions"]
    problem = data["problem"]
    first = _reports(runs[0])["torch-twin"]
    ref_n = data.get("grid_points")
    commands = list(dict.fromkeys(r["command"] for r in runs))
    out = [
        f"# Energy per inference: {problem}",
        "",
        "Produced by (each row names its command below; lava-nc "
        f"{v['lava-nc']}, torch {v['torch']}, lava-pinn {v['lava-pinn']}):",
        "",
        *[f"    {c}" for c in commands],
        "",
        "**What is measured and what is estimated.** Spike counts are *measured*: the integer "
        "network runs on the bit-exact torch twin over the evaluation points and on Lava's CPU "
        "simulator (`fixed_pt`) over a subset, and the two agree spike for spike. Energies are "
        "*estimated* from those counts with per-operation constants: `loihi` is pre-silicon "
        "(Davies et al. 2018), `cmos-45nm` the usual 45 nm convention (Horowitz 2014), and "
        "`loihi2` an **assumption** (Intel published no per-operation energies for Loihi 2; the "
        "profile reuses Loihi's numbers as an upper bound). The ANN is priced at 45 nm twice "
        "(Horowitz 2014): in FP32 (4.6 pJ per MAC) and quantized to INT8 (0.23 pJ per MAC: 8-bit "
        "mult 0.2 pJ + 8-bit add 0.03 pJ), the fair baseline for an integer SNN. No energy here "
        "was measured on a chip.",
        "",
        "## Setup",
        "",
        f"- ANN: pretrained `{problem}` PINN {'-'.join(map(str, first.ann.widths))} "
        f"({first.ann.activation}), {first.ann.macs:,} MACs per inference; rel. L2 on the whole "
        f"grid: {_fmt_err(data['ann_errors_grid'])}.",
        "- Networks (neurons: spiking neurons; synapses: Dense synapses on chip, both groups of "
        "a two-group synapse, the host-side first layer excluded, as `benchmarks/export.py` "
        "counts them):",
    ]
    for m in dict.fromkeys(r["method"] for r in runs):
        rs = [r for r in runs if r["method"] == m]
        r = rs[-1]
        c = r.get("conversion") or {}
        if m == DEFAULT_METHOD:
            how = ("`lava_pinn.convert(checkpoint, T=T)` and `exporters.quantize(snn)` defaults"
                   + (f" ({c.get('representation')}, {c.get('pieces')} pieces, neuron "
                      f"`{c.get('neuron')}`, calibration `{c.get('calibration')}`)" if c
                      else " (pwl, 8 pieces, neuron `if`, calibration `advanced`)")
                   + ", quantized without the scale search and readout refit")  # fmt: skip
        else:
            how = (f"`{m}`: converted and quantized as `benchmarks/export.py` does with the "
                   "same options (1024 seeded calibration points)")  # fmt: skip
        size = (f"{r['neurons']:,} neurons, {r['synapses']:,} synapses" if "neurons" in r else
                f"{r['resources']['neurons']:,} neurons and {r['resources']['synapses']:,} "
                "synapses (Loihi 2 resource check, readout and host layer included)")  # fmt: skip
        out.append(f"  - {how}; {size}; T = {', '.join(str(x['T']) for x in rs)}.")
    out += [
        f"- Evaluation: seeded points (seed 0) of the {ref_n}-point evaluation grid; Lava "
        "`fixed_pt` on the first of them (counts per row below).",
        "- Errors: relative L2 against the exact solution on those points, per output field.",
        "",
        "## ANN vs SNN (per inference)",
        "",
        summary_table(runs),
        "Sparsity: NeuroBench activation sparsity (1 - spikes / (spiking neurons x T)). Syn. ops: "
        "NeuroBench effective synaptic operations per inference (Effective_ACs + "
        "Effective_MACs; the analog first layer counts as MACs every step). E_ANN FP32: the "
        "ANN's MACs x 4.6 pJ; E_ANN INT8: MACs x 0.23 pJ. `loihi2` prices exactly as `loihi` "
        "(assumed), so only `loihi`'s comparison is written out. Under `cmos-45nm` the SNN's "
        "accumulates are priced as FP32 adds (0.9 pJ), the convention of SNN papers.",
        "",
        "Timings and checks:",
        "",
    ]
    for r in runs:
        w = r["wall_s"]
        out.append(
            f"- `{r['method']}`, T = {r['T']} (`{r['command']}`): convert {r['convert_s']:.0f} s "
            "(0: from the cache), "
            f"quantize {r['quantize_s']:.0f} s; twin {w['torch-twin']:.0f} s for {r['points']} "
            f"points, Lava fixed_pt {w['lava-cpu']:.0f} s for {r['lava_points']} points; "
            "twin == Lava on those points (outputs and every spike count): "
            f"**{'yes' if r['twin_equals_lava'] else 'NO'}**; identical energy estimates: "
            f"**{'yes' if r['energy_equal_on_lava_points'] else 'NO'}**."
        )
    out += ["", "## Loihi 2 resource check", ""]
    for m in dict.fromkeys(r["method"] for r in runs):
        r = [x for x in runs if x["method"] == m][-1]
        res = r["resources"]
        out.append(
            f"- `{m}`, T = {r['T']}: {res['cores']} cores, {res['chips']} chip(s), "
            f"{res['neurons']} neurons, {res['synapses']} synapses; fits: "
            f"{'yes' if res['fits'] else 'no'}."
        )
        warned = dict.fromkeys(
            w.removeprefix("Loihi 2 resource check: ") for w in r.get("resource_warnings", [])
        )
        if warned:
            out.append(f"  - {len(warned)} warning(s), e.g.: {next(iter(warned))}")
    out += [
        "",
        "## Energy vs error",
        "",
        f"![Pareto plot]({figure.relative_to(path.parent).as_posix()})",
        "",
        f"SNN energy per inference under `{PARETO_PROFILE}` against the mean relative L2 error "
        "over the output fields, for each network and T (float SNN, integer SNN); the star is "
        "the FP32 ANN (the INT8 ANN sits 20x lower in energy).",
        "",
        "## Per layer",
        "",
    ]
    for r in runs:
        rep = _reports(r)["torch-twin"]
        text = reports.to_markdown(rep).replace("### ", f"### Per layer: `{r['method']}`, ", 1)
        out.append(text)
    del get_problem
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
    conv_defaults = add_conversion_options(p)
    p.add_argument("--cache", type=Path, help="folder to keep converted SNNs between runs")
    p.add_argument("--out", type=Path, default=REPO / "docs" / "results")
    p.add_argument(
        "--report", action="store_true", help="only rewrite energy.md/.tex from energy.json"
    )
    args = p.parse_args(argv)
    args.argv = argv
    args.command = ".venv/bin/python benchmarks/energy.py " + " ".join(argv)
    args.export_conversion = resolve_conversion(args, conv_defaults)
    if args.export_conversion and (args.no_search or args.no_refit):
        p.error("with export's conversion options, use --quant-search off (not --no-search)")
    if args.export_conversion:
        from benchmarks.export import method_label

        args.method_label = method_label(args)
    else:
        args.method_label = DEFAULT_METHOD
    out = args.out
    disk_path = out / "energy.json"
    disk = json.loads(disk_path.read_text()) if disk_path.is_file() else None
    if args.report:
        if disk is None:
            p.error(f"--report: {disk_path} does not exist")
        write_outputs(merge(disk, {**disk, "runs": []}), out)
        return 0
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
    new = {
        "problem": args.problem,
        "versions": versions(),
        "points": int(k),
        "grid_points": int(n),
        "lava_points": args.lava_points,
        "ann_errors_grid": ann_grid,
        "runs": [run_entry(s, args, k) for s in studies],
    }
    data = merge(disk, json.loads(reports.to_json(new)))
    write_outputs(data, out)
    print(summary_table(data["runs"]))
    return 0 if all(s["twin_equals_lava"] for s in studies) else 1


def write_outputs(data: dict, out: Path) -> None:
    """energy.json, energy.md, energy.tex and the Pareto figure, from the merged rows."""
    runs = data["runs"]
    figs = out / "figures"
    pts, all_reports = [], []
    for r in runs:
        reps = _reports(r)
        for b, kind in (("torch-float", "float SNN"), ("torch-twin", "integer SNN")):
            rep = reps[b]
            all_reports.append(rep)
            e = rep.estimate_for(PARETO_PROFILE)
            name = kind if r["method"] == DEFAULT_METHOD else f"{kind}, {r['method'].split()[0]}"
            pts.append(plots.ParetoPoint(name, r["T"], e.snn_total_j, mean_error(dict(rep.errors))))
    ann_rep = _reports(runs[0])["torch-twin"].estimate_for(PARETO_PROFILE)
    ann_pt = (ann_rep.ann_total_j, mean_error(runs[0]["ann_errors"]))
    fig = plots.plot_pareto(
        pts,
        figs / "energy_pareto.png",
        ann=ann_pt,
        xlabel=f"energy per inference (nJ)\nSNN {PARETO_PROFILE}, ANN FP32 {ann_rep.ann_profile}",
    )
    tex = reports.summary_to_latex(
        all_reports,
        profiles=["loihi", "cmos-45nm"],
        caption=f"{data['problem']}: error and energy per inference (nJ)",
        label="tab:energy",
    )
    last = runs[-1]
    tex += "\n" + reports.to_latex(
        _reports(last)["torch-twin"],
        caption=f"{data['problem']}, integer SNN `{last['method']}`, T = {last['T']}",
        label="tab:energy-T",
    )
    problems = reports.latex_problems(tex)
    if problems:
        raise SystemExit("energy.tex is malformed: " + "; ".join(problems))
    atomic_write_bytes(out / "energy.tex", tex.encode("utf-8"))
    reports.to_json(data, out / "energy.json")
    write_markdown(data, out / "energy.md", fig)
    print(f"wrote {out / 'energy.md'}, energy.json, energy.tex, {fig}")


if __name__ == "__main__":
    sys.exit(main())
