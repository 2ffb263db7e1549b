"""``convert(..., spike_budget=N)``: the conversion with the lowest calibration-set error among
those firing at most ``N`` spikes per inference on the calibration points.

A rate-coded network's spikes grow about linearly with ``T`` and its error falls, so the
search converts at ``T = 4, 8, 16, ...`` (each with its own calibration) until a conversion
fires more than ``N`` spikes per calibration point (or ``T = MAX_T``), and keeps the most
accurate one within the budget; for ``pwl`` on a smooth activation without ``pieces`` given it
then bisects twice between the last ``T`` within and the first over; it does so for each of
``PIECES`` too (fewer pieces: fewer spikes per step, a coarser
interpolant). Error and spikes are those of the calibration points (relative L2 of the SNN
output against the ANN's); the search is recorded in ``metadata["budget_search"]``.

A budget below one spike per neuron of the representation, or one that even ``T = 4`` exceeds,
is an error that names the smallest budget that works.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import torch

from lava_pinn.metrics import rel_l2
from lava_pinn.validation import check_count

log = logging.getLogger(__name__)

T_START = 4
MAX_T = 4096
PIECES = (4, 8, 16)
REFINE = 2  # bisection steps between the last T within the budget and the first over it


def check_spike_budget(value: object, name: str = "spike_budget") -> int:
    """``value`` as spikes per inference, an integer ``>= 1``."""
    return check_count(value, f"{name} (spikes per inference)", low=1)


def search(
    build: Callable[..., object],
    x: torch.Tensor,
    y_ann: torch.Tensor,
    budget: int,
    pieces_choices: tuple[int | None, ...],
) -> object:
    """Run ``build(T=..., pieces=...)`` (a :class:`SpikingNetwork`) over the grid of the module
    docstring and return the best network within ``budget`` spikes per calibration point,
    its metadata extended with ``spike_budget`` and ``budget_search``."""
    tried: list[dict] = []
    best = None

    def attempt(T: int, pieces: int | None) -> bool:
        """Convert at ``T``; keep it if it is the best within the budget; is it within?"""
        nonlocal best
        kw = {} if pieces is None else {"pieces": pieces}
        snn = build(T=T, **kw)
        if not tried and budget < snn.neurons:
            raise ValueError(
                f"spike_budget={budget} is below one spike per neuron ({snn.neurons} "
                f"neurons); the smallest budget that works is {_smallest(snn, x)} spikes "
                "per inference"
            )
        with torch.no_grad():
            y = snn(x)
        spikes = float(snn.last_stats["spikes_per_point"])
        err = rel_l2(y, y_ann)
        tried.append({"T": T, "pieces": pieces, "spikes": spikes, "error": err})
        log.info("budget: T=%d pieces=%s: %.0f spikes, error %.3g", T, pieces, spikes, err)
        if spikes > budget:
            return False
        if best is None or err < best[0]:
            best = (err, snn)
        return True

    for pieces in pieces_choices:
        T_ok, T = None, T_START
        while T <= MAX_T and attempt(T, pieces):
            T_ok, T = T, 2 * T
        if T_ok is None or T > MAX_T:
            continue
        for _ in range(REFINE):  # bisect (geometrically) between the last T within and over
            mid = int(round((T_ok * T) ** 0.5))
            if mid in (T_ok, T):
                break
            if attempt(mid, pieces):
                T_ok = mid
            else:
                T = mid
    if best is None:
        least = min(tried, key=lambda r: r["spikes"])
        raise ValueError(
            f"spike_budget={budget}: no conversion fires that few spikes per inference on the "
            f"calibration points; the smallest budget that works is {int(least['spikes']) + 1} "
            f"(T={least['T']}" + (f", pieces={least['pieces']}" if least["pieces"] else "") + ")"
        )
    snn = best[1]
    snn.metadata["spike_budget"] = budget
    snn.metadata["budget_search"] = tried
    return snn


def _smallest(snn, x: torch.Tensor) -> int:
    """The larger of the neuron count and the spikes ``snn`` fires per calibration point."""
    with torch.no_grad():
        snn(x)
    return max(snn.neurons, int(snn.last_stats["spikes_per_point"]) + 1)
