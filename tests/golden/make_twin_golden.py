"""Regenerate ``twin_golden.npz``: the torch twin's outputs on the committed networks.

Each case converts a committed pretrained checkpoint (``lava_pinn/pretrained``) with a fast
method, quantizes it to Loihi 2 integers and runs the fixed-point twin on seeded points. The
stored integers (readout accumulators, per-layer spike counts and messages, and a digest of the
integer network) are what ``tests/test_twin_golden.py`` compares with ``==``. Regenerate only when
a change is meant to alter deployed outputs, and say so in the commit.

    .venv/bin/python tests/golden/make_twin_golden.py
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
from pathlib import Path

# the BLAS kernel tests/conftest.py pins (float conversion rounds differently under others);
# before numpy loads
if platform.machine().lower() in ("x86_64", "amd64"):
    os.environ.setdefault("OPENBLAS_CORETYPE", "Haswell")

import numpy as np  # noqa: E402
import torch  # noqa: E402

HERE = Path(__file__).parent

# (case name, problem, convert keywords, quantize keywords)
CASES = [
    (
        "reg-pwl8-if-none",
        "regression-1d",
        {"T": 32, "neuron": "if", "calibration": "none"},
        {"search": False},
    ),
    (
        "reg-direct-signed-light",
        "regression-1d",
        {"T": 32, "neuron": "signed-if", "calibration": "light", "representation": "direct"},
        {"search": False},
    ),
    (
        "reg-direct-lif-none",
        "regression-1d",
        {"T": 32, "neuron": "lif-hard", "calibration": "none", "representation": "direct"},
        {"search": False},
    ),
    (
        "ns-pwl8-graded-none",
        "navier-stokes-tg",
        {"T": 16, "neuron": "graded-if", "calibration": "none", "pieces": 8},
        {"search": False},
    ),
    (
        "ns-direct-if-light-2groups",
        "navier-stokes-tg",
        {"T": 16, "neuron": "if", "calibration": "light", "representation": "direct"},
        {"search": False, "weight_groups": 2},
    ),
    (
        "poisson-pwl4-graded-none",
        "poisson-2d",
        {"T": 16, "neuron": "graded-if", "calibration": "none", "pieces": 4},
        {"search": False},
    ),
]
N_POINTS = 96
# Float conversion and quantization round differently with the number of BLAS threads; the
# golden cases run on one, so the stored integers do not depend on the machine's core count.
GOLDEN_THREADS = 1


def network_digest(net) -> str:
    """SHA-256 over every integer array and scale of an :class:`IntegerNetwork`."""
    h = hashlib.sha256()
    for la in net.hidden:
        for a in (la.weight, la.bias_mant, la.bias_exp, la.threshold, la.v0):
            h.update(np.ascontiguousarray(a, dtype=np.int64).tobytes())
        h.update(f"{la.weight_exp}|{la.neuron}|{la.fine_exp}".encode())
        if la.fine_weight is not None:
            h.update(np.ascontiguousarray(la.fine_weight, dtype=np.int64).tobytes())
    ro = net.readout
    for a in (ro.weight, ro.bias):
        h.update(np.ascontiguousarray(a, dtype=np.int64).tobytes())
    h.update(f"{ro.weight_exp}|{ro.fine_exp}|{net.T}".encode())
    if ro.fine_weight is not None:
        h.update(np.ascontiguousarray(ro.fine_weight, dtype=np.int64).tobytes())
    h.update(np.asarray(net.input_scale, dtype=np.float64).tobytes())
    h.update(np.asarray(net.output_scale, dtype=np.float64).tobytes())
    return h.hexdigest()


def build(case: tuple):
    """``(integer network, evaluation points)`` of one case."""
    import warnings

    import exporters
    from lava_pinn.checkpoint import load_pretrained
    from lava_pinn.conversion import convert
    from lava_pinn.conversion.convert import default_calibration_points

    name, problem, ckw, qkw = case
    torch.manual_seed(0)
    ckpt = load_pretrained(problem)
    threads = torch.get_num_threads()
    torch.set_num_threads(GOLDEN_THREADS)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            snn = convert(ckpt, **ckw)
            net, _ = exporters.quantize(snn, **qkw)
    finally:
        torch.set_num_threads(threads)
    x = default_calibration_points(ckpt.problem, ckpt.problem_params, N_POINTS, seed=7)
    return net, x.numpy()


def main() -> int:
    from exporters.twin import run_twin

    out = {}
    for case in CASES:
        net, x = build(case)
        r = run_twin(net, x)
        name = case[0]
        out[f"{name}/digest"] = np.array(network_digest(net))
        out[f"{name}/acc"] = r.acc
        for i, (c, e) in enumerate(zip(r.counts, r.events, strict=True)):
            out[f"{name}/counts{i}"] = c
            out[f"{name}/events{i}"] = e
        print(name, out[f"{name}/digest"], r.acc.shape, file=sys.stderr)
    np.savez_compressed(HERE / "twin_golden.npz", **out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
