"""Deployed accuracy: float SNN vs its Loihi-integer twin, per zoo problem and T.

    .venv/bin/python benchmarks/quantize_accuracy.py                        # all problems, T 32 64
    .venv/bin/python benchmarks/quantize_accuracy.py --problems regression-1d --T 64
    .venv/bin/python benchmarks/quantize_accuracy.py --problems navier-stokes-tg --T 64 \\
        --eval-points 2000 --snn-cache /tmp/snn-cache

For each problem (pretrained checkpoint) and ``T``: ``lava_pinn.convert(checkpoint, x_cal, T=T)``
with the converter's defaults (cached under ``--snn-cache``, keyed by a hash of
``lava_pinn/conversion/*.py`` so a changed converter converts again; ``--any-converter`` reuses
the newest cached file, its hash recorded in the row), then
``exporters.quantize(snn)`` (SPINN: each axis network on its own), then the float SNN and the
torch fixed-point twin (bit-exact with Lava ``fixed_pt``, so twin error = deployed error) on the
problem's reference grid (MLPs: a seeded subset of ``--eval-points`` grid points; SPINN: the
whole grid). Printed and written (``docs/results/quantize_accuracy.{json,md}``, rows merged by
problem and T): relative L2 per output field of the ANN, float SNN and twin vs the reference,
twin vs float SNN, twin / ANN, and the quantization report's figures. Uses one torch thread
(timings on a shared machine are noisy).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import exporters  # noqa: E402
import lava_pinn  # noqa: E402
from lava_pinn.checkpoint import atomic_write_bytes, load_pretrained  # noqa: E402
from lava_pinn.conversion.convert import default_calibration_points  # noqa: E402
from lava_pinn.metrics import field_errors  # noqa: E402
from lava_pinn.models import combine_grid  # noqa: E402
from lava_pinn.problems import ZOO, get_problem  # noqa: E402
from lava_pinn.training import predict  # noqa: E402

RESULTS = REPO / "docs" / "results"
ORDER = list(ZOO)  # the zoo in table order
TARGETS = {"regression-1d": "twin vs exact <= 1.5%", "navier-stokes-tg": "u, v <= 1.3 x ANN"}


def converter_hash() -> str:
    h = hashlib.sha256()
    for p in sorted((REPO / "lava_pinn" / "conversion").glob("*.py")):
        h.update(p.read_bytes())
    return h.hexdigest()[:10]


def rel(pred: np.ndarray, ref: np.ndarray, fields) -> dict[str, float]:
    """Relative L2 per field over every row (no gauge removal: the committed tables' rule)."""
    return field_errors(pred, ref, fields, finite_only=False)


def get_snn(ck, T: int, args):
    cache = Path(args.snn_cache) / f"{ck.problem}-T{T}-{converter_hash()}.snn"
    spinn = ck.config.kind == "spinn"
    cls = lava_pinn.SpikingSPINN if spinn else lava_pinn.SpikingNetwork
    if args.any_converter and not cache.is_file():
        found = sorted(
            Path(args.snn_cache).glob(f"{ck.problem}-T{T}-*.snn"), key=lambda p: p.stat().st_mtime
        )
        cache = found[-1] if found else cache
    if cache.is_file():
        return cls.load(cache), 0.0, cache.stem.rsplit("-", 1)[-1]
    x_cal = default_calibration_points(ck.problem, ck.problem_params, args.cal_points)
    t0 = time.perf_counter()
    snn = lava_pinn.convert(ck, x_cal, T=T)
    seconds = time.perf_counter() - t0
    cache.parent.mkdir(parents=True, exist_ok=True)
    snn.save(cache)
    return snn, seconds, ""


def quantize_and_run(snn, ck, pts, axes, args):
    """Integer networks, their reports, and float and twin outputs on the evaluation set."""
    opts = dict(n_points=args.quant_points, search=not args.no_search)
    if axes:  # SPINN: one integer network per axis, host-side combination
        x_cal = default_calibration_points(ck.problem, ck.problem_params, args.quant_points, 1)
        nets, reports, feats_t, feats_f = [], [], [], []
        for i, sub in enumerate(snn.axis_nets):
            net, rep = exporters.quantize(sub, x_cal[:, i : i + 1], **opts)
            nets.append(net)
            reports.append(rep)
            c = axes[i].to(torch.float64)[:, None]
            feats_t.append(
                torch.from_numpy(exporters.run_twin(net, c.numpy()).y).reshape(
                    -1, snn.rank, snn.out_features
                )
            )
            feats_f.append(snn.axis_features(i, c[:, 0]))
        y_t = combine_grid(feats_t).reshape(pts.shape[0], -1)
        y_f = combine_grid(feats_f).reshape(pts.shape[0], -1)
        return reports, y_f.numpy(), y_t.numpy()
    net, rep = exporters.quantize(snn, **opts)
    with torch.no_grad():
        y_f = snn(pts.to(torch.float64)).numpy()
    y_t = exporters.run_twin(net, pts.numpy()).y
    return [rep], y_f, y_t


def run_one(problem: str, T: int, args) -> dict:
    ck = load_pretrained(problem)
    prob = get_problem(ck.problem, **ck.problem_params)
    ref = prob.reference()
    spinn = ck.config.kind == "spinn"
    pts, vals = ref.points, ref.values
    axes = tuple(ref.axes) if spinn else ()
    if not spinn and pts.shape[0] > args.eval_points:
        idx = torch.randperm(pts.shape[0], generator=torch.Generator().manual_seed(1))
        pts, vals = pts[idx[: args.eval_points]], vals[idx[: args.eval_points]]
    with torch.no_grad():
        ann = predict(ck.model, prob, pts, ck.hard_bc, axes).double().numpy()
    snn, convert_s, cached = get_snn(ck, T, args)
    load0 = os.getloadavg()[0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        reports, y_f, y_t = quantize_and_run(snn, ck, pts, axes, args)
        seconds = time.perf_counter() - t0
    if ck.hard_bc:
        y_f = prob.apply_hard_bc(pts, torch.from_numpy(y_f)).numpy()
        y_t = prob.apply_hard_bc(pts, torch.from_numpy(y_t)).numpy()
    vals = vals.double().numpy()
    fields = tuple(prob.outputs)
    ann_ref, twin_ref = rel(ann, vals, fields), rel(y_t, vals, fields)
    layers = [la for r in reports for la in (*r.layers, r.readout)]
    return {
        "problem": problem,
        "T": T,
        "sizes": [reports[0].layers[0].shape[1]]
        + [la.shape[0] for la in (*reports[0].layers, reports[0].readout)],
        "ann_vs_ref": ann_ref,
        "float_vs_ref": rel(y_f, vals, fields),
        "twin_vs_ref": twin_ref,
        "twin_vs_float": rel(y_t, y_f, fields),
        "twin_over_ann": {f: twin_ref[f] / ann_ref[f] for f in fields},
        "calibration_twin_vs_float": [list(r.twin_vs_float) for r in reports],
        "max_weight_error": max(la.weight_error for la in layers),
        "rounded_to_zero": sum(r.rounded_to_zero for r in reports),
        "saturated": sum(r.saturated for r in reports),
        "choices": [la.choice for la in layers],
        "eval_points": int(pts.shape[0]),
        "quantize_and_eval_s": seconds,
        "convert_s": convert_s,
        "snn_cached": bool(cached),
        "converter": cached or converter_hash(),
        "load_avg": load0,
        "warnings": sorted({str(w.message) for w in caught}),
    }


def pct(d: dict[str, float]) -> str:
    return ", ".join(f"{k} {100 * v:.3f}%" for k, v in d.items())


def markdown(rows: list[dict], meta: dict) -> str:
    lines = [
        "# Deployed accuracy: float SNN vs its Loihi-integer twin",
        "",
        "Relative L2 error per output field on each problem's reference grid (MLPs: a seeded",
        "subset of grid points; SPINN: the whole grid). Converter: `lava_pinn.convert` defaults "
        "(its source hash per row in the json); quantization: `exporters.quantize` defaults. "
        "The twin is",
        "bit-exact with Lava `fixed_pt`, so its error is the deployed error.",
        f"Produced by `{meta['command']}` ({meta['when']}, {meta['machine']}).",
        "",
        "| problem | T | SNN file | ANN vs ref | float SNN vs ref | twin vs ref | twin vs float | "
        "twin / ANN | zeroed | sat. | target |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(rows, key=lambda r: (ORDER.index(r["problem"]), r["T"], r["converter"])):
        ratio = ", ".join(f"{k} {v:.2f}x" for k, v in r["twin_over_ann"].items())
        lines.append(
            f"| {r['problem']} | {r['T']} | {r['converter']} | {pct(r['ann_vs_ref'])} | "
            f"{pct(r['float_vs_ref'])} | "
            f"{pct(r['twin_vs_ref'])} | {pct(r['twin_vs_float'])} | {ratio} | "
            f"{r['rounded_to_zero']} | {r['saturated']} | {TARGETS.get(r['problem'], '')} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--problems", nargs="+", default=ORDER, choices=ORDER)
    ap.add_argument("--T", nargs="+", type=int, default=[32, 64])
    ap.add_argument("--eval-points", type=int, default=2000)
    ap.add_argument("--cal-points", type=int, default=1024, help="conversion calibration points")
    ap.add_argument("--quant-points", type=int, default=256, help="quantization search points")
    ap.add_argument("--no-search", action="store_true", help="first scale candidate only")
    ap.add_argument("--snn-cache", default=str(Path("/tmp") / "lava-pinn-snn-cache"))
    ap.add_argument(
        "--any-converter",
        action="store_true",
        help="reuse the newest cached SNN of a problem and T even if the converter changed",
    )
    ap.add_argument("--out", default=str(RESULTS))
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    out = Path(args.out)
    json_path = out / "quantize_accuracy.json"
    old = json.loads(json_path.read_text())["rows"] if json_path.is_file() else []
    rows = []
    for problem in args.problems:
        for T in args.T:
            print(f"== {problem} T={T}", flush=True)
            row = run_one(problem, T, args)
            rows.append(row)
            print(
                f"   ANN {pct(row['ann_vs_ref'])} | float {pct(row['float_vs_ref'])} | "
                f"twin {pct(row['twin_vs_ref'])} | twin vs float {pct(row['twin_vs_float'])} | "
                "twin/ANN "
                + ", ".join(f"{k} {v:.2f}x" for k, v in row["twin_over_ann"].items())
                + f" | zeroed {row['rounded_to_zero']} sat {row['saturated']} | "
                f"{row['quantize_and_eval_s']:.0f} s (load {row['load_avg']:.1f})",
                flush=True,
            )
    if args.no_write:
        return 0
    new = {(n["problem"], n["T"], n["converter"]) for n in rows}
    keep = [r for r in old if (r["problem"], r["T"], r["converter"]) not in new]
    allrows = keep + rows
    meta = {
        "command": "python benchmarks/quantize_accuracy.py " + " ".join(argv or sys.argv[1:]),
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, 1 torch thread",
        "converter": converter_hash(),
    }
    atomic_write_bytes(json_path, json.dumps({"meta": meta, "rows": allrows}, indent=1).encode())
    atomic_write_bytes(out / "quantize_accuracy.md", markdown(allrows, meta).encode())
    print(f"wrote {json_path} and quantize_accuracy.md", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
