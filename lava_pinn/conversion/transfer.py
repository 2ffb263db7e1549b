"""Calibrate once, run at any ``T``: what of a converted network carries over to another number
of time steps, and how.

A rate-coded network is defined per time step: every current, threshold and decoder reads the
rate ``r = counts / T``, so the same weights run at any ``T``. Two things are tied to the ``T``
the network was converted for (``metadata["calibrated_T"]``):

* **charges**: ``v0 = f V + q`` is the rounding start ``f V`` (``f = 1/2`` for non-negative
  neurons: the count is ``round(I T / V)`` instead of its floor, at every ``T``) plus a
  calibrated charge ``q`` (``potential`` calibration, fine-tuning) that shifts the rate by
  ``q / (V T)``. Run at ``T'`` the charge is scaled by ``T' / T`` so that it shifts the rate
  by the same amount (:func:`charges_at`); ``metadata["v0_fraction"]`` records ``f`` per layer.
* **fits to the spike counts at T** (``metadata["T_specific"]`` says which): weight, decoder
  and output refits and end-to-end fine-tuning see the rates the network fires at its own
  ``T``, quantisation error included. They also remove the representation's own error (the
  hard-tanh mismatch of ``direct``), which carries over; the part fitted to ``T``'s
  quantisation does not: run above its ``T`` such a network keeps about the error it had
  there, run below it loses a little more than a network calibrated there (calibrate at the
  largest ``T`` it will run at). Running it more than :data:`FAR` times above or below its
  ``T`` warns, naming both.

Uncalibrated networks (``light`` and ``potential`` too) have nothing that matters tied to
``T``: ``direct``'s default ``mse`` threshold is chosen for the conversion's ``T`` but is
not what limits its accuracy at another ``T``. Measured transfer: ``docs/results/equal_cost.md``
("calibrate once").
"""

from __future__ import annotations

import warnings

import torch

from lava_pinn._warnings import outside

FAR = 2.0  # run at T more than this factor from the calibrated T: warn (T-specific networks)


def v0_fractions(v0s: list[torch.Tensor], thresholds: list[torch.Tensor]) -> list[float | None]:
    """Per layer ``f`` with ``v0 = f V`` for every neuron (the representation's rounding start,
    before calibration), ``None`` where the layer has no single ``f``."""
    out: list[float | None] = []
    for v0, V in zip(v0s, thresholds, strict=True):
        f = v0 / V
        ok = bool(torch.allclose(f, f[:1].expand_as(f), rtol=0.0, atol=1e-9))
        out.append(float(f[0]) if ok else None)
    return out


def charges_at(
    v0: torch.Tensor, threshold: torch.Tensor, fraction: float | None, T_from: int, T_to: int
) -> torch.Tensor:
    """``v0`` for ``T_to`` steps of a layer whose ``v0`` holds charges calibrated at ``T_from``:
    ``f V + (v0 - f V) T_to / T_from`` (the same rate shift); unchanged when ``fraction`` is
    ``None`` (no known rounding start)."""
    if fraction is None or T_from == T_to:
        return v0.clone()
    base = fraction * threshold
    return base + (v0 - base) * (T_to / T_from)


def warn_far(metadata: dict, T: int) -> None:
    """Warn when ``T`` is more than :data:`FAR` times above or below the calibrated ``T`` of a
    network with ``T``-specific calibration (``metadata["T_specific"]``)."""
    T_cal = metadata.get("calibrated_T")
    why = metadata.get("T_specific")
    if not T_cal or not why or (T_cal / FAR <= T <= T_cal * FAR):
        return
    warnings.warn(
        f"this network was calibrated for T={T_cal} and runs at T={T}, more than {FAR:g}x "
        f"away: {why}, so part of its accuracy at T={T_cal} does not carry over; convert "
        f"again with T={T} for the best accuracy at that T",
        stacklevel=outside(),
    )
