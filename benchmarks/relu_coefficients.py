"""How large the ReLU-piece coefficients of sigma-delta-relu are, next to what they rebuild.

Each tanh unit of the Navier-Stokes PINN is ``f~(z) = c0 + sum_k c_k relu(z - t_k)`` over
``K`` breakpoints (:mod:`lava_pinn.sigma_delta.relu_pieces`). A relay neuron sums the ``K``
pieces with 8-bit weights, one scale per row, so each ``c_k`` is rounded to within
``max_k |c_k| / 254``: the larger ``max|c|`` is next to the activation's range, the larger the
rounding. Printed per layer, median and worst unit: ``max|c| / range`` and the fit's worst
error, for the least-squares fit (what the exporter uses) and for the interpolant at the same
breakpoints (``c_k`` = slope changes).

    .venv/bin/python benchmarks/relu_coefficients.py [--pieces 16] [--points 1024]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def interpolant(f, t: torch.Tensor, end: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(c0, c)`` of the interpolant of ``f`` at breakpoints ``t`` ``(units, K)`` and ``end``
    ``(units,)``: ``c0 = f(t_1)``, ``c_k`` the change of slope at ``t_k``."""
    knots = torch.cat([t, end[:, None]], 1)
    with torch.no_grad():
        fk = f(knots)
    s = (fk[:, 1:] - fk[:, :-1]) / (knots[:, 1:] - knots[:, :-1])
    return fk[:, 0], torch.cat([s[:, :1], s[:, 1:] - s[:, :-1]], 1)


def main(argv: list[str] | None = None) -> int:
    from lava_pinn.checkpoint import load_pretrained
    from lava_pinn.conversion.convert import default_calibration_points, parse_mlp
    from lava_pinn.sigma_delta import relu_pieces as rp
    from lava_pinn.sigma_delta.network import _activation

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pieces", type=int, default=16)
    ap.add_argument("--points", type=int, default=1024)
    a = ap.parse_args(argv)
    ck = load_pretrained("navier-stokes-tg")
    h = default_calibration_points(ck.problem, ck.problem_params, a.points)
    hidden, _ = parse_mlp(ck.model)
    print(f"navier-stokes-tg, K = {a.pieces}, {a.points} calibration points")
    print(
        "| layer | LS max|c|/range median, worst | LS max error | interpolant max|c|/range "
        "median, worst | interpolant max error |"
    )
    print("|---|--:|--:|--:|--:|")
    for i, la in enumerate(hidden):
        f = _activation(la, torch.float64)
        z = h @ la.weight.detach().double().T + la.bias.detach().double()
        with torch.no_grad():
            h = f(z)
        rng = (h.amax(0) - h.amin(0)).clamp(min=1e-12)
        t, c0, c, err = rp.unit_fits(f, z, a.pieces)
        zlo, zhi = z.amin(0), z.amax(0)
        end = zhi + rp.Z_MARGIN * (zhi - zlo).clamp(min=1e-6)
        ci0, ci = interpolant(f, t, end)
        ei = max(
            float((rp.pieces_eval(z[:, j], t[j], ci0[j], ci[j]) - h[:, j]).abs().max())
            for j in range(z.shape[1])
        )
        ls, it = c.abs().amax(1) / rng, ci.abs().amax(1) / rng
        print(
            f"| {i + 1} | {float(ls.median()):.2f}, {float(ls.max()):.2f} | {float(err.max()):.1e} "
            f"| {float(it.median()):.2f}, {float(it.max()):.2f} | {ei:.1e} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
