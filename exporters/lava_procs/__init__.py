"""Custom Lava Processes: one population of any registered custom neuron model, an integrating
readout, a batched Dense, and the encoder, neurons and readout of a sigma-delta network.

Each process has a ``floating_pt`` and a ``fixed_pt`` PyProcessModel. The neuron models call the
one definition of their dynamics, the model's ``step`` or ``int_step`` in :mod:`lava_pinn.neurons`,
on numpy arrays. No torch in here: torch inside Lava's
forked workers can hang its multiprocessing.

Every process keeps its own step counter ``t`` (reset by the host between batches) and is active
only in the window ``t_start <= t <= t_end``; outside it a neuron holds its state, stays silent
and counts nothing, and an accumulator ignores its input. That is how the pipeline latency of
Dense (one step per layer) is accounted for exactly: hidden layer ``i`` (0-based) is active in
steps ``i+1 .. i+T``, the readout in ``L+1 .. L+T``.

The sigma-delta processes (:class:`DeltaSource`, :class:`DeltaNeuron`, :class:`DeltaReadout`;
``fixed_pt`` only) need no window: with no incoming message a sigma-delta neuron does nothing.
Their counter ``t`` wraps at the batch length ``period``; at step 1 they return to the rest
state, at the last step they report to the host
(:mod:`exporters.sigma_delta.lava_graph` builds and runs them).

Lava finds the ProcessModels by scanning this package's folder (process.py / models.py), so
nothing else lives here. Importing it imports Lava: use :func:`exporters._lava.require_lava`.
"""

from exporters.lava_procs.process import (
    Accumulator,
    BatchDense,
    DeltaNeuron,
    DeltaReadout,
    DeltaSource,
    Neuron,
)

__all__ = ["Neuron", "Accumulator", "BatchDense", "DeltaSource", "DeltaNeuron", "DeltaReadout"]
