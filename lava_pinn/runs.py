"""The one result type of a run of a deployed spiking chain: the integer twin
(:func:`exporters.twin.run_twin`) and the Lava graphs (:mod:`exporters.lava_graph`,
:mod:`exporters.netx`) return a :class:`SpikeRun`, so their results compare field by field."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SpikeRun:
    """Outputs of one run of a spiking chain on ``n_points`` points (numpy arrays).

    ``y``: ``(n, n_out)`` decoded outputs; ``acc``: ``(n, n_out)`` readout accumulator (sum over
    the window; integer networks), ``counts[l]``: ``(n, n_l)`` net spike counts of hidden layer
    ``l`` (signed spikes cancel, graded spikes count their payload), ``events[l]``: steps on
    which each neuron sent a message; ``spikes[l]`` (when traced): ``(n, T, n_l)`` int8;
    ``seconds``: wall time of the run.
    """

    y: np.ndarray
    acc: np.ndarray | None
    counts: list[np.ndarray]
    events: list[np.ndarray]
    spikes: list[np.ndarray] | None = None
    seconds: float = 0.0
