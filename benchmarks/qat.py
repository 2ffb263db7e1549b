"""One 8-bit weight group: quantization-aware fine-tuning of the Navier-Stokes sigma-delta network.

For each weight-group layout (one count per layer and the readout), with and without
fine-tuning through the deployed formats (:func:`lava_pinn.sigma_delta.qat.finetune_quantized`
on the exporter's own row exponents and payload bits), the deployed network on the integer
twin: u, v, p errors vs exact on 20,000 domain points, error / ANN error, synaptic ops per point
against the ANN's 20,864 MACs. Thresholds: 1 payload unit (the finest). Writes
docs/results/qat.md and .json.

    .venv/bin/python benchmarks/qat.py [--steps 3000] [--no-write]
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

LAYOUTS = {
    "2 groups everywhere": [2] * 7,
    "1 group everywhere": [1] * 7,
    "2 groups in layers 1, 3, 4 and the readout": [2, 1, 2, 2, 1, 1, 2],
    "2 groups in layers 1, 4, 5 and the readout": [2, 1, 1, 2, 2, 1, 2],
}


def main(argv: list[str] | None = None) -> int:
    from exporters.sigma_delta import quantize_delta, run_static
    from lava_pinn.checkpoint import load_pretrained
    from lava_pinn.conversion.convert import default_calibration_points
    from lava_pinn.problems import get_problem
    from lava_pinn.sigma_delta import convert_sigma_delta
    from lava_pinn.sigma_delta.qat import deployed_exponents, finetune_quantized

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    warnings.simplefilter("ignore", UserWarning)
    ck = load_pretrained("navier-stokes-tg")
    prob = get_problem(ck.problem, **ck.problem_params)
    xc = default_calibration_points(ck.problem, ck.problem_params, 4096, 1, 0.1)
    xt = default_calibration_points(ck.problem, ck.problem_params, 8192, 3, 0.1).float()
    x = prob.domain.sample(20000, torch.Generator().manual_seed(7))
    ex = prob.exact(x)
    with torch.no_grad():
        ann = ck.model.double()(x)

    def err(y):
        return [float((y[:, i] - ex[:, i]).norm() / ex[:, i].norm()) for i in range(3)]

    e_ann = err(ann)
    rows = []
    for name, groups in LAYOUTS.items():
        for qat in (False, True) if set(groups) != {2} else (False,):
            t0 = time.monotonic()
            net = convert_sigma_delta(ck, xc, dtype=torch.float32 if qat else torch.float64)
            first = quantize_delta(net, weight_groups=groups, payload_bits=24, vth=[1] * 6)
            inet = first
            if qat:
                q = finetune_quantized(
                    net,
                    xt,
                    weight_groups=groups,
                    act_bits=[la.act_bits for la in first.layers],
                    exponents=deployed_exponents(first),
                    steps=args.steps,
                    lr=args.lr,
                )
                inet = quantize_delta(
                    q, weight_groups=groups, payload_bits=24, vth=[1] * 6, grid_of=first
                )
            r = run_static(inet, x)
            e = err(r.y)
            rows.append(
                {
                    "layout": name,
                    "groups": groups,
                    "qat_steps": args.steps if qat else 0,
                    "errors": dict(zip("uvp", e, strict=True)),
                    "over_ann": dict(
                        zip("uvp", [a / b for a, b in zip(e, e_ann, strict=True)], strict=True)
                    ),
                    "synops_per_point": r.synops_per_point(),
                    "synops_over_macs": r.synops_per_point() / 20864,
                    "act_bits": [la.act_bits for la in inet.layers],
                    "seconds": time.monotonic() - t0,
                }
            )
            print(rows[-1], flush=True)
    lines = [
        "# One 8-bit weight group: quantization-aware fine-tuning (Navier-Stokes sigma-delta)",
        "",
        f"Deployed integers on the twin, 20,000 domain points, errors vs exact (ANN: u "
        f"{100 * e_ann[0]:.3f}%, v {100 * e_ann[1]:.3f}%, p {100 * e_ann[2]:.2f}%); 24-bit "
        f"payloads, thresholds 1 payload unit; fine-tuning: {args.steps} Adam steps, lr "
        f"{args.lr:g} (cosine), batches of 1,024 of 8,192 domain points, through the deployed "
        "row exponents and payload bits.",
        "",
        "| weight groups | fine-tuned | u | v | p | u, v / ANN | synops / point | / ANN MACs | s |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in rows:
        e, o = r["errors"], r["over_ann"]
        lines.append(
            f"| {r['layout']} | {'yes' if r['qat_steps'] else 'no'} | {100 * e['u']:.3f}% | "
            f"{100 * e['v']:.3f}% | {100 * e['p']:.2f}% | {o['u']:.2f}, {o['v']:.2f} | "
            f"{r['synops_per_point']:,.0f} | {r['synops_over_macs']:.2f} | {r['seconds']:.0f} |"
        )
    cmd = "python benchmarks/qat.py " + " ".join(argv or sys.argv[1:])
    lines += ["", f"Command: `{cmd}`.", ""]
    md = "\n".join(lines)
    print(md)
    if not args.no_write:
        out = ROOT / "docs" / "results"
        (out / "qat.md").write_text(md)
        (out / "qat.json").write_text(
            json.dumps({"ann": e_ann, "rows": rows, "command": cmd}, indent=1)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
