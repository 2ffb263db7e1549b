"""On every zoo problem, calibration never makes the calibration-set error worse than none.

The error is the relative L2 distance between the converted network's outputs and the ANN's on
the calibration points (for the SPINN: each axis network's features on its coordinate, which is
what each axis is calibrated on). Small calibration sets, few steps and small T keep it fast;
the claim (docs/theory.md, Theorem 3) holds for any of them.
"""

from __future__ import annotations

import copy
import warnings

import pytest
import torch

import lava_pinn
from lava_pinn.checkpoint import load_pretrained
from lava_pinn.conversion import options_for
from lava_pinn.conversion.calibration import CALIBRATIONS
from lava_pinn.conversion.convert import default_calibration_points
from lava_pinn.problems import available

N_POINTS = 32
T = 8
METHODS = [m for m in CALIBRATIONS.available() if m != "none"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


def _errors(ck, snn, x: torch.Tensor) -> list[float]:
    """Calibration-set error(s) against the float64 ANN: one per separately calibrated net."""
    ann = copy.deepcopy(ck.model).double()
    with torch.no_grad():
        if ck.config.kind == "spinn":
            return [
                _rel(net(x[:, i : i + 1]), ann.axis_nets[i](x[:, i : i + 1]))
                for i, net in enumerate(snn.axis_nets)
            ]
        return [_rel(snn(x), ann(x))]


@pytest.mark.parametrize("problem", available())
def test_calibration_never_worse_on_zoo(problem):
    ck = load_pretrained(problem)
    x = default_calibration_points(ck.problem, ck.problem_params, N_POINTS, seed=3)
    runs = [("direct", m) for m in METHODS] + [("pwl", "advanced")]
    common = dict(pieces=2, calibration_steps=3, finetune_iters=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fewer points than the methods ask for, on purpose
        base = {
            rep: _errors(
                ck,
                lava_pinn.convert(
                    ck,
                    x,
                    T=T,
                    calibration="none",
                    representation=rep,
                    **options_for(rep, "none", **common),
                ),
                x,
            )
            for rep in ("direct", "pwl")
        }
        for rep, method in runs:
            snn = lava_pinn.convert(
                ck,
                x,
                T=T,
                calibration=method,
                representation=rep,
                **options_for(rep, method, **common),
            )
            after = _errors(ck, snn, x)
            for i, (e0, e1) in enumerate(zip(base[rep], after, strict=True)):
                assert e1 <= e0, f"{problem} {rep}/{method} net {i}: {e0:.6g} -> {e1:.6g}"
