"""Sigma-delta on Lava: the deployed ``navier-stokes-tg`` sigma-delta network (2 weight groups,
16-bit payloads) on ``--points`` seeded domain points, Lava ``fixed_pt`` against the integer
twin, checked equal (``==``: outputs, accumulators, messages and payloads of every layer).

    .venv/bin/python benchmarks/sigma_delta_lava.py
    .venv/bin/python benchmarks/sigma_delta_lava.py --points 1024 --lanes 256

Prints the wall time of both (Lava end to end: compile, ``depth + 2`` steps per batch of
``--lanes`` points, stop; and its compile / run / stop parts from a second, timed graph), the
twin's (``--threads`` torch threads) and the ratio. Timings on a shared 2-core machine are
noisy: the load average is printed with them.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import torch  # noqa: E402


def _same(a, b) -> bool:
    return (
        torch.equal(a.y, b.y)
        and torch.equal(a.acc, b.acc)
        and all(
            torch.equal(u, v)
            for name in ("messages", "payload_abs", "synops")
            for u, v in zip(getattr(a, name), getattr(b, name), strict=True)
        )
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--points", type=int, default=256, help="static points (default 256)")
    ap.add_argument("--lanes", type=int, default=256, help="points side by side per batch")
    ap.add_argument("--seed", type=int, default=0, help="seed of the domain points")
    ap.add_argument("--threads", type=int, default=1, help="torch threads of the twin")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    from exporters.sigma_delta import quantize_delta, run_static
    from exporters.sigma_delta.lava_graph import build_delta_graph, run_lava_static
    from lava_pinn.checkpoint import load_pretrained
    from lava_pinn.conversion.convert import default_calibration_points
    from lava_pinn.sigma_delta import convert_sigma_delta

    ck = load_pretrained("navier-stokes-tg")
    inet = quantize_delta(convert_sigma_delta(ck), weight_groups=2, payload_bits=16)
    x = default_calibration_points(ck.problem, ck.problem_params, args.points, args.seed)

    t0 = time.perf_counter()
    twin = run_static(inet, x)
    t_twin = time.perf_counter() - t0

    t0 = time.perf_counter()
    lava = run_lava_static(inet, x, lanes=args.lanes, timeout_s=600)
    t_lava = time.perf_counter() - t0
    if not _same(lava, twin):
        raise SystemExit("Lava fixed_pt and the twin differ: this is a bug, please report it")

    # the parts, on a second graph of the same size (one batch)
    lanes = min(args.lanes, args.points)
    codes = inet.encode(x[:lanes]).numpy()[None]
    t0 = time.perf_counter()
    graph = build_delta_graph(inet, lanes=lanes, timeout_s=600)
    try:
        graph.open()
        t1 = time.perf_counter()
        graph.run_batch(codes)
        t2 = time.perf_counter()
    finally:
        graph.close()
    t3 = time.perf_counter()

    depth = len(inet.layers)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"navier-stokes-tg sigma-delta, {inet.weight_groups} weight groups, 16-bit payloads")
    print(f"{args.points} static points, {lanes} lanes, {depth + 2} Lava steps per batch")
    print("Lava == twin (y, acc, messages, payload_abs, synops of every layer): yes")
    print(
        f"messages per point {lava.messages_per_point():.1f}, synops {lava.synops_per_point():.0f}"
    )
    print(f"twin   {t_twin:8.3f} s  ({args.threads} torch thread(s))")
    print(f"Lava   {t_lava:8.3f} s  end to end ({lava.steps} steps)")
    print(
        f"       one batch: compile+start {t1 - t0:.3f} s, run {t2 - t1:.3f} s "
        f"({(depth + 2) / (t2 - t1):.0f} steps/s, {lanes / (t2 - t1):.0f} points/s), "
        f"stop {t3 - t2:.3f} s"
    )
    print(f"ratio  Lava / twin = {t_lava / t_twin:.0f}x   (load average {load:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
