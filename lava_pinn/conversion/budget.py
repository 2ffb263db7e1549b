"""``convert(..., spike_budget=N)``: the conversion with the lowest error among those firing at
most ``N`` spikes per inference on the budget points (default: the calibration points).

A rate-coded network's spikes grow about linearly with ``T`` and its error falls, so for each
number of pieces (``pwl`` on a smooth activation without ``pieces`` given: each of ``PIECES``,
fewer pieces firing fewer spikes per step with a coarser interpolant; else the one the options
fix) the search converts at ``T = 2, 4, 8, ...`` until a conversion fires more than ``N``
spikes, then moves to the largest ``T`` within ``N`` by secant steps on the measured spikes
(spikes are close to linear in ``T``), and, where it chooses the pieces, fills that ``T``
with as many pieces as stay within ``N`` (at small ``T`` one more step is a coarse jump).
This ranking runs *uncalibrated* (``calibration "none"``), which is cheap; the
:data:`FINALISTS` candidates with the lowest uncalibrated error are then converted with the
requested calibration (stepping ``T`` down while calibration pushed them over ``N``), and the
most accurate calibrated conversion within ``N`` is returned (an uncalibrated one only if
none is).

Error (relative L2 of the SNN output against the ANN's) and spikes per point are measured on
the budget points; the search is recorded in ``metadata["budget_search"]``.

A budget below one spike per neuron of the representation, or one that even ``T = 2`` exceeds,
is an error that names the smallest budget that works.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import torch

from lava_pinn.metrics import rel_l2
from lava_pinn.validation import check_count

log = logging.getLogger(__name__)

T_START = 2
MAX_T = 4096
PIECES = (4, 8, 16)
REFINE = 4  # secant steps towards the largest T within the budget
RETRIES = 3  # T steps down when calibration pushed the chosen T over the budget
FINALISTS = 2  # pieces choices calibrated: those with the lowest uncalibrated error
MAX_FILL = 64  # most pieces per unit the search fills a T with


def check_spike_budget(value: object, name: str = "spike_budget") -> int:
    """``value`` as spikes per inference, an integer ``>= 1``."""
    return check_count(value, f"{name} (spikes per inference)", low=1)


def spikes_per_point(snn: object, x: torch.Tensor) -> tuple[torch.Tensor, float]:
    """``(outputs, spikes per point)`` of ``snn`` (a spiking MLP or SPINN) on ``x``."""
    with torch.no_grad():
        y = snn(x)
    return y, float(snn.last_stats["spikes"]) / x.shape[0]


def search(
    build: Callable[..., object],
    x: torch.Tensor,
    y_ann: torch.Tensor,
    budget: int,
    pieces_choices: tuple[int | None, ...],
    calibration: str,
) -> object:
    """Run ``build(T=..., calibration=..., pieces=...)`` (a spiking network) over the search of
    the module docstring and return the best network within ``budget`` spikes per calibration
    point, its metadata extended with ``spike_budget`` and ``budget_search``."""
    tried: list[dict] = []
    best: dict[bool, list] = {True: [], False: []}  # requested calibration?: [error, network]

    def attempt(T: int, pieces: int | None, cal: str) -> float:
        """Convert at ``T``; keep it if it is the best within the budget; its spikes."""
        kw = {} if pieces is None else {"pieces": pieces}
        snn = build(T=T, calibration=cal, **kw)
        if not tried and budget < snn.neurons:
            raise ValueError(
                f"spike_budget={budget} is below one spike per neuron ({snn.neurons} "
                f"neurons); the smallest budget that works is {_smallest(snn, x)} spikes "
                "per inference"
            )
        y, spikes = spikes_per_point(snn, x)
        err = rel_l2(y, y_ann)
        tried.append({"T": T, "pieces": pieces, "calibration": cal, "spikes": spikes, "error": err})
        log.info("budget: T=%d pieces=%s %s: %.0f spikes, error %.3g", T, pieces, cal, spikes, err)
        mine = best[cal == calibration]
        if spikes <= budget and (not mine or err < mine[0]):
            mine[:] = [err, snn]
        return spikes

    rank_cal = "none"
    finals: list[tuple[int, int | None]] = []
    for pieces in pieces_choices:
        ok: tuple[int, float] | None = None  # (T, spikes) of the largest T within so far
        over: tuple[int, float] | None = None  # of the smallest T over so far
        T = T_START
        while T <= MAX_T:
            s = attempt(T, pieces, rank_cal)
            if s > budget:
                over = (T, s)
                break
            ok = (T, s)
            T *= 2
        if ok is None:
            continue
        for _ in range(REFINE if over else 0):
            (T0, s0), (T1, s1) = ok, over
            if T1 - T0 <= 1:
                break
            guess = T0 + (budget - s0) * (T1 - T0) / max(s1 - s0, 1e-9)
            T = min(max(int(math.floor(guess)), T0 + 1), T1 - 1)
            s = attempt(T, pieces, rank_cal)
            if s <= budget:
                ok = (T, s)
            else:
                over = (T, s)
        finals.append((ok[0], _fill(attempt, ok, pieces, budget, rank_cal)))
    if calibration != rank_cal:
        ranked = {(r["T"], r["pieces"]): r["error"] for r in tried}
        finals.sort(key=lambda f: ranked[f])
        for T, pieces in finals[:FINALISTS]:
            for _ in range(RETRIES):
                s = attempt(T, pieces, calibration)
                if s <= budget or T <= 1:
                    break
                T = max(1, min(T - 1, int(T * budget / s)))
    found = best[True] or best[False]  # a calibrated network if any fits
    if not found:
        least = min(tried, key=lambda r: r["spikes"])
        raise ValueError(
            f"spike_budget={budget}: no conversion fires that few spikes per inference on the "
            f"calibration points; the smallest budget that works is {int(least['spikes']) + 1} "
            f"(T={least['T']}" + (f", pieces={least['pieces']}" if least["pieces"] else "") + ")"
        )
    snn = found[1]
    snn.metadata["spike_budget"] = budget
    snn.metadata["budget_search"] = tried
    return snn


def _fill(attempt, ok: tuple[int, float], pieces: int | None, budget: int, cal: str):
    """At the largest ``T`` within the budget, the most pieces still within it (spikes grow
    about linearly with the pieces too; at small ``T`` one more step is a coarse jump, which
    more pieces fill): secant steps from ``pieces``. ``None`` stays ``None``."""
    if pieces is None:
        return None
    T, s_ok = ok
    K_ok, over = pieces, None
    for _ in range(REFINE):
        if over is None:
            K = min(int(K_ok * budget / max(s_ok, 1e-9)), MAX_FILL)
        else:
            K1, s1 = over
            K = int(K_ok + (budget - s_ok) * (K1 - K_ok) / max(s1 - s_ok, 1e-9))
            K = min(K, K1 - 1)
        if K <= K_ok:
            break
        s = attempt(T, K, cal)
        if s <= budget:
            K_ok, s_ok = K, s
        else:
            over = (K, s)
    return K_ok


def _smallest(snn, x: torch.Tensor) -> int:
    """The larger of the neuron count and the spikes ``snn`` fires per calibration point."""
    _, spikes = spikes_per_point(snn, x)
    return max(snn.neurons, int(spikes) + 1)
