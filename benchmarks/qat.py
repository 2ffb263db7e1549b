"""One 8-bit weight group: quantization-aware fine-tuning of the Navier-Stokes sigma-delta network.

Per row (weight groups per layer and the readout, fine-tuning steps, seed, PDE weight), the
deployed network on the integer twin: u, v, p errors vs exact on 20,000 domain points, error
/ ANN error, synaptic ops per point against the ANN's 20,864 MACs; for fine-tuned rows Lava
``fixed_pt`` on 256 of the points, compared ``==`` with the twin. Fine-tuning:
:func:`lava_pinn.sigma_delta.qat.finetune_quantized` through the exporter's own row exponents
and payload bits, against the ANN on 8,192 domain points (a tenth on the boundary) and, where
the PDE weight is > 0, the PDE residual on 512 fresh uniform points per step. Thresholds: 1
payload unit (the finest). Writes docs/results/qat.md and .json.

    .venv/bin/python benchmarks/qat.py [--steps 10000] [--short 3000] [--no-write]
    .venv/bin/python benchmarks/qat.py --formats-only   # where one group's error comes from

``--formats-only`` prints, for the float network (no fine-tuning, 20,000 points), the error of
each rounding alone: activations rounded to ``F`` payload fraction bits (float weights), and
the weights rounded to one 8-bit group per row (float activations).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MACS = 20864
KEEP = "<!-- written by hand below this line; benchmarks/qat.py keeps it -->"


def rows_for(steps: int, short: int) -> list[dict]:
    """The benchmark's rows: layout, fine-tuning steps, seed, PDE weight."""
    one = [1] * 7
    return [
        {"layout": "2 groups everywhere", "groups": [2] * 7, "steps": 0},
        {"layout": "1 group everywhere", "groups": one, "steps": 0},
        {"layout": "1 group everywhere", "groups": one, "steps": short, "seed": 0},
        {"layout": "1 group everywhere", "groups": one, "steps": steps, "seed": 0},
        {"layout": "1 group everywhere", "groups": one, "steps": steps, "seed": 1},
        {"layout": "1 group everywhere", "groups": one, "steps": steps, "seed": 0, "pde": 1.0},
    ]


def formats(net, x, err, e_ann) -> str:
    """The ``--formats-only`` table (see the module docstring)."""
    from exporters.sigma_delta.intnet import quantize_weights, weight_rows

    def run(bits=None, one_group=False):
        h = x / net.in_scale
        ws = [la.weight for la in net.layers] + [net.out_weight]
        if one_group:
            q = []
            for w in ws:
                e = weight_rows(w.numpy())
                g = quantize_weights(w.numpy(), e, 1).groups[0][0]
                q.append(torch.from_numpy(g * 2.0 ** -e[:, None].astype(float)))
            ws = q
        with torch.no_grad():
            for la, w in zip(net.layers, ws, strict=False):
                h = la.activation(h @ w.T + la.bias)
                if bits is not None:
                    h = torch.round(h * 2.0**bits) / 2.0**bits
            return h @ ws[-1].T + net.out_bias

    lines = [
        "| rounding alone (float network otherwise) | u | v | u, v / ANN |",
        "|---|--:|--:|--:|",
    ]
    cases = [(f"activations to {b} fraction bits", run(bits=b)) for b in (11, 12, 14, 16)]
    cases.append(("weights to one 8-bit group per row", run(one_group=True)))
    for name, y in cases:
        e = err(y)
        lines.append(
            f"| {name} | {100 * e[0]:.3f}% | {100 * e[1]:.3f}% | "
            f"{e[0] / e_ann[0]:.2f}, {e[1] / e_ann[1]:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from exporters.sigma_delta import quantize_delta, run_static
    from exporters.sigma_delta.lava_graph import run_lava_static
    from lava_pinn.checkpoint import load_pretrained
    from lava_pinn.conversion.convert import default_calibration_points
    from lava_pinn.problems import get_problem
    from lava_pinn.sigma_delta import convert_sigma_delta
    from lava_pinn.sigma_delta.qat import deployed_exponents, finetune_quantized

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=10000)
    ap.add_argument("--short", type=int, default=3000, help="steps of the short fine-tune row")
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--lava-points", type=int, default=256)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--formats-only", action="store_true", help="print the rounding table only")
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    torch.set_num_threads(1)  # small batches: threads only contend
    warnings.simplefilter("ignore", UserWarning)
    ck = load_pretrained("navier-stokes-tg")
    prob = get_problem(ck.problem, **ck.problem_params)
    xc = default_calibration_points(ck.problem, ck.problem_params, 4096, 1, 0.1)
    xt = default_calibration_points(ck.problem, ck.problem_params, 8192, 3, 0.1).float()
    xv = prob.domain.sample(2048, torch.Generator().manual_seed(11)).float()  # validation
    x = prob.domain.sample(20000, torch.Generator().manual_seed(7))
    ex = prob.exact(x)
    with torch.no_grad():
        ann = ck.model.double()(x)

    def err(y):
        return [float((y[:, i] - ex[:, i]).norm() / ex[:, i].norm()) for i in range(3)]

    e_ann = err(ann)
    if args.formats_only:
        print(formats(convert_sigma_delta(ck, xc), x, err, e_ann))
        return 0
    rows = []
    for spec in rows_for(args.steps, args.short):
        groups, steps = spec["groups"], spec["steps"]
        t0 = time.monotonic()
        net = convert_sigma_delta(ck, xc, dtype=torch.float32 if steps else torch.float64)
        first = quantize_delta(net, weight_groups=groups, payload_bits=24, vth=[1] * 6)
        inet = first
        if steps:
            q = finetune_quantized(
                net,
                xt,
                weight_groups=groups,
                act_bits=[la.act_bits for la in first.layers],
                exponents=deployed_exponents(first),
                steps=steps,
                lr=args.lr,
                seed=spec["seed"],
                problem=prob,
                pde_weight=spec.get("pde", 0.0),
                val=xv,
            )
            inet = quantize_delta(
                q, weight_groups=groups, payload_bits=24, vth=[1] * 6, grid_of=first
            )
        secs = time.monotonic() - t0
        r = run_static(inet, x)
        e = err(r.y)
        row = {
            **spec,
            "errors": dict(zip("uvp", e, strict=True)),
            "over_ann": {k: a / b for k, a, b in zip("uvp", e, e_ann, strict=True)},
            "synops_per_point": r.synops_per_point(),
            "synops_over_macs": r.synops_per_point() / MACS,
            "act_bits": [la.act_bits for la in inet.layers],
            "kept_step": inet.metadata.get("qat", {}).get("kept_step", 0),
            "seconds": secs,
        }
        if steps and args.lava_points:
            xl = x[: args.lava_points]
            lv, tw = run_lava_static(inet, xl), run_static(inet, xl)
            row["lava_equal"] = bool(
                torch.equal(lv.acc, tw.acc)
                and all(torch.equal(a, b) for a, b in zip(lv.messages, tw.messages, strict=True))
            )
            row["lava_points"] = int(xl.shape[0])
        rows.append(row)
        print(row, flush=True)
    cmd = "python benchmarks/qat.py " + " ".join(argv if argv is not None else sys.argv[1:])
    md = markdown(rows, e_ann, args, cmd)
    print(md)
    if not args.no_write:
        out = ROOT / "docs" / "results"
        page = out / "qat.md"
        old = page.read_text() if page.is_file() else ""
        kept = old[old.index(KEEP) :] if KEEP in old else ""
        page.write_text(md + ("\n" + kept if kept else ""))
        (out / "qat.json").write_text(
            json.dumps({"ann": e_ann, "rows": rows, "command": cmd}, indent=1)
        )
    return 0


def markdown(rows: list[dict], e_ann: list[float], args, cmd: str) -> str:
    lines = [
        "# One 8-bit weight group: quantization-aware fine-tuning (Navier-Stokes sigma-delta)",
        "",
        f"Deployed integers on the twin, 20,000 domain points, errors vs exact (ANN: u "
        f"{100 * e_ann[0]:.3f}%, v {100 * e_ann[1]:.3f}%, p {100 * e_ann[2]:.2f}%); 24-bit "
        f"payloads (16 fraction bits), every row its own 8-bit exponent, thresholds 1 payload "
        f"unit; fine-tuning: Adam, lr {args.lr:g} (cosine to 0), batches of 1,024 of 8,192 "
        "domain points against the ANN, through the deployed row exponents and payload bits; "
        "PDE weight > 0: plus the PDE residual of the deployed network on 512 fresh uniform "
        "points per step (never the exact solution); the weights kept are those with the lowest "
        "loss on 2,048 held-out uniform points, measured every 250 steps (kept step). Lava: "
        "`fixed_pt` on the first 256 points `==` the twin (accumulators and every population's "
        "messages).",
        "",
        "| weight groups | fine-tune steps | kept step | seed | PDE weight | u | v | p | "
        "u, v / ANN | synops / point | / ANN MACs | Lava == twin | s |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|",
    ]
    for r in rows:
        e, o = r["errors"], r["over_ann"]
        lava = "" if "lava_equal" not in r else f"{r['lava_equal']} ({r['lava_points']})"
        lines.append(
            f"| {r['layout']} | {r['steps']:,} | {r['kept_step']:,} | {r.get('seed', '')} | "
            f"{r.get('pde', 0):g} | "
            f"{100 * e['u']:.3f}% | {100 * e['v']:.3f}% | {100 * e['p']:.2f}% | "
            f"{o['u']:.2f}, {o['v']:.2f} | {r['synops_per_point']:,.0f} | "
            f"{r['synops_over_macs']:.2f} | {lava} | {r['seconds']:.0f} |"
        )
    lines += ["", f"Command: `{cmd}` (seconds: conversion and fine-tuning, 1 torch thread).", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
