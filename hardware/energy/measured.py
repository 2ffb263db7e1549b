"""Measured energy on a Loihi 2 board through lava-loihi's profiler, where that extension exists.

lava-loihi (Intel INRC members only) ships ``lava.utils.loihi2_profiler`` with ``Loihi2Power``
and ``Loihi2ExecutionTime``, used as pre/post run fixtures of ``Loihi2HwCfg`` (as lava-dl's
PilotNet benchmark does). Where it is absent, :func:`measure_loihi2` raises
:class:`ProfilerUnavailable` with the reason, so callers (and tests) can skip cleanly. Lava is
imported only inside these functions.

Energy per inference from a run of ``num_steps`` steps over ``n_samples`` samples::

    E_total   = P_total  * t_step * num_steps / n_samples         (J)
    E_dynamic = (P_total - P_static) * t_step * num_steps / n_samples
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

SOURCE = "lava-loihi Loihi2Power / Loihi2ExecutionTime (lava.utils.loihi2_profiler)"


class ProfilerUnavailable(RuntimeError):
    """Lava, lava-loihi's profiler or a Loihi 2 board is not available here."""


def loihi2_profiler_status() -> tuple[bool, str]:
    """``(available, reason)`` for measured Loihi 2 power; never raises."""
    try:
        from lava.utils import loihi
    except Exception as err:  # noqa: BLE001 - any import failure means "not here"
        return False, f"Lava is not importable ({type(err).__name__}: {err}); install lava-nc"
    try:
        installed = bool(loihi.is_installed())
    except Exception as err:  # noqa: BLE001
        return False, f"lava.utils.loihi.is_installed() failed: {err}"
    if not installed:
        return False, (
            "lava-loihi (Intel's Loihi 2 extension with lava.utils.loihi2_profiler) is not "
            "installed; measured power needs it and a Loihi 2 board (INRC members only). "
            "Use the estimated profiles instead."
        )
    return True, "lava-loihi profiler available"


@dataclass(frozen=True)
class MeasuredEnergy:
    """Power measured on a board, turned into energy per inference (J)."""

    total_power_w: float
    static_power_w: float
    seconds_per_step: float
    num_steps: int
    n_samples: int
    source: str = SOURCE
    kind: str = "measured"

    def __post_init__(self) -> None:
        for f in ("total_power_w", "static_power_w", "seconds_per_step"):
            v = getattr(self, f)
            if not np.isfinite(v) or v < 0:
                raise ValueError(f"MeasuredEnergy.{f} must be finite and >= 0, got {v!r}")
        for f in ("num_steps", "n_samples"):
            if int(getattr(self, f)) <= 0:
                raise ValueError(f"MeasuredEnergy.{f} must be a positive integer")

    @property
    def seconds_per_inference(self) -> float:
        return self.seconds_per_step * self.num_steps / self.n_samples

    @property
    def total_j(self) -> float:
        return self.total_power_w * self.seconds_per_inference

    @property
    def dynamic_j(self) -> float:
        return max(self.total_power_w - self.static_power_w, 0.0) * self.seconds_per_inference

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "source": self.source,
            "total_power_w": self.total_power_w,
            "static_power_w": self.static_power_w,
            "seconds_per_step": self.seconds_per_step,
            "num_steps": self.num_steps,
            "n_samples": self.n_samples,
            "seconds_per_inference": self.seconds_per_inference,
            "total_j_per_inference": self.total_j,
            "dynamic_j_per_inference": self.dynamic_j,
        }


def measure_loihi2(
    run: Callable[[Sequence[Callable], Sequence[Callable]], None],
    num_steps: int,
    n_samples: int = 1,
) -> MeasuredEnergy:
    """Run on Loihi 2 with lava-loihi's power and time loggers attached; return the energy.

    ``run(pre_run_fxs, post_run_fxs)`` must pass the two lists to the run configuration (in
    lava-nc 0.10.0: ``Loihi2HwCfg(callback_fxs=[IterableCallBack(pre_run_fxs, post_run_fxs)])``
    from ``lava.magma.core.callback_fx``), run the network for ``num_steps`` steps and stop
    it. Raises :class:`ProfilerUnavailable` (with the reason) where lava-loihi is absent.
    """
    ok, reason = loihi2_profiler_status()
    if not ok:
        raise ProfilerUnavailable(reason)
    from lava.utils import loihi2_profiler  # only with lava-loihi

    power = loihi2_profiler.Loihi2Power(num_steps=num_steps)
    timer = loihi2_profiler.Loihi2ExecutionTime()
    pre = [lambda board: power.attach(board), lambda board: timer.attach(board)]
    post = [lambda board: power.get_results(), lambda board: timer.get_results()]
    run(pre, post)
    try:
        total = float(np.mean(power.total_power))
        static = float(np.mean(power.static_total_power))
        per_step_us = getattr(timer, "avg_time_per_step", None)
        if per_step_us is None:
            per_step_us = timer.time_per_step
        t_step = float(np.mean(per_step_us)) * 1e-6  # the logger reports microseconds
    except AttributeError as err:
        raise ProfilerUnavailable(
            f"lava-loihi's profiler has a different interface than expected ({err}); "
            "read the loggers by hand"
        ) from None
    log.info("Loihi 2: %.3f W total, %.3f W static, %.3g s/step", total, static, t_step)
    return MeasuredEnergy(total, static, t_step, int(num_steps), int(n_samples))
