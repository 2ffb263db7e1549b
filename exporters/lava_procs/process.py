"""Custom Lava Processes (see the package docstring for the semantics)."""

from __future__ import annotations

import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var

from lava_pinn.neurons import NEURONS

__all__ = ["Neuron", "Accumulator", "BatchDense", "DeltaSource", "DeltaNeuron", "DeltaReadout"]


def _flat_shape(shape: tuple[int, ...] | int) -> tuple[int, ...]:
    return (int(shape),) if np.isscalar(shape) else tuple(int(s) for s in shape)


PIPE_BUFFER = 2  # host pipes carry one array per batch


def _report_port(
    proc: AbstractProcess, shape: tuple[int, ...], report: bool, rows: int = 2
) -> None:
    """``report``: an OutPort that, flagged as a host pipe (Lava's external-pipe ports, as in
    ``lava.proc.io.extractor``), sends ``rows`` arrays of ``shape`` at once (``[count, events]``,
    ``[acc, abs_acc]``, ...) to the host at the last step of the window. Whole arrays travel at
    once; ``Var.get``/``set`` move one element per message (slow for big batches)."""
    proc.report = OutPort(shape=(rows * int(np.prod(shape)),))
    if report:
        proc.report.flag_external_pipe(buffer_size=PIPE_BUFFER)


class Neuron(AbstractProcess):
    """A population of one registered neuron model (:data:`lava_pinn.neurons.NEURONS`, any
    model with ``lava="custom"``), active in the window ``t_start <= t <= t_end`` of each
    ``period``-step batch.

    Per active step: ``(s, state) = model.int_step(state, a_in, bias, vth)`` (``fixed_pt``) or
    ``(s, v) = model.step(v, a_in + bias, vth)`` (``floating_pt``); ``count += s``,
    ``events += [s != 0]``. At the first step of each batch the state returns to its initial
    value (``v = v0``, other state variables 0). Vars: ``state`` ``(len(model.state_vars), n)``,
    ``v0``, ``bias``, ``vth`` (per neuron), ``count`` (net, signed), ``events``, the step
    counter ``t`` and the window.

    ``host_bias``: the bias is received from the host (``bias_in`` pipe) at the first step of
    each batch; ``report``: ``[count, events]`` is sent to the host (``report`` pipe) at the
    window's last step.
    """

    def __init__(
        self,
        *,
        shape,
        neuron: str,
        v0=0,
        bias=0,
        vth=1,
        t_start=1,
        t_end=2**31 - 1,
        period=2**31 - 1,
        host_bias: bool = False,
        report: bool = False,
        name=None,
    ):
        model = NEURONS.get(neuron)
        if model.lava != "custom":
            raise ValueError(
                f"neuron model {model.name!r} maps to Lava's {model.lava!r} process, not to the "
                "custom Neuron process"
            )
        shape = _flat_shape(shape)
        super().__init__(
            shape=shape,
            name=name,
            neuron=model.name,
            host_bias=bool(host_bias),
            report=bool(report),
        )
        self.a_in = InPort(shape=shape)
        self.s_out = OutPort(shape=shape)
        # host_bias: the bias arrives through a host pipe (as in lava.proc.io.injector)
        self.bias_in = InPort(shape=shape)
        if host_bias:
            self.bias_in.flag_external_pipe(buffer_size=PIPE_BUFFER)
        _report_port(self, shape, report)
        v0 = np.array(np.broadcast_to(np.asarray(v0), shape))
        state0 = np.stack(model.initial_state(v0))
        self.v0 = Var(shape=shape, init=v0)
        self.state0 = Var(shape=state0.shape, init=state0)
        self.state = Var(shape=state0.shape, init=state0)
        self.bias = Var(shape=shape, init=bias)
        self.vth = Var(shape=shape, init=vth)
        self.count = Var(shape=shape, init=0)
        self.events = Var(shape=shape, init=0)
        self.t = Var(shape=(1,), init=0)
        self.t_start = Var(shape=(1,), init=t_start)
        self.t_end = Var(shape=(1,), init=t_end)
        self.period = Var(shape=(1,), init=period)


class Accumulator(AbstractProcess):
    """Integrates its input over its window: ``acc += a_in``, ``abs_acc += |a_in|``.

    Serves as the non-spiking readout (behind a Dense) and as a spike counter (fed directly by a
    neuron's ``s_out``: no delay). ``report``: ``[acc, abs_acc]`` is sent to the host at the
    window's last step.
    """

    def __init__(
        self,
        *,
        shape,
        t_start=1,
        t_end=2**31 - 1,
        period=2**31 - 1,
        report: bool = False,
        name=None,
    ):
        shape = _flat_shape(shape)
        super().__init__(shape=shape, name=name, report=bool(report))
        self.a_in = InPort(shape=shape)
        _report_port(self, shape, report)
        self.acc = Var(shape=shape, init=0)
        self.abs_acc = Var(shape=shape, init=0)
        self.t = Var(shape=(1,), init=0)
        self.t_start = Var(shape=(1,), init=t_start)
        self.t_end = Var(shape=(1,), init=t_end)
        self.period = Var(shape=(1,), init=period)


class BatchDense(AbstractProcess):
    """``batch`` copies of one Dense layer side by side (the same weights for every point).

    Equivalent to Lava's ``Dense`` with the block-diagonal matrix ``kron(I_batch, weights)``
    (same 8-bit weight rules, ``weight_exp`` shift, int32 output and one-step delay), at the
    cost of one small matrix product per step instead of a ``batch``-times larger one.
    Ports are flat, point-major: ``s_in`` ``(batch * n_in,)``, ``a_out`` ``(batch * n_out,)``.
    """

    def __init__(
        self, *, batch: int, weights, weight_exp: int = 0, num_message_bits: int = 0, name=None
    ):
        weights = np.asarray(weights)
        n_out, n_in = weights.shape
        super().__init__(
            shape=(batch * n_out, batch * n_in),
            weight_exp=int(weight_exp),
            batch=int(batch),
            name=name,
        )
        self.s_in = InPort(shape=(batch * n_in,))
        self.a_out = OutPort(shape=(batch * n_out,))
        self.weights = Var(shape=weights.shape, init=weights)
        self.a_buff = Var(shape=(batch * n_out,), init=0)
        self.num_message_bits = Var(shape=(1,), init=num_message_bits)


# ---------------------------------------------------------------------------- sigma-delta
class DeltaSource(AbstractProcess):
    """The input encoder of a sigma-delta network, over lanes: per lane, the change of its integer
    code, one frame per step, then zeros.

    Per ``period``-step batch: at step 1 the host's ``codes`` ``(frames, size)`` (flat,
    frame-major; ``size = lanes * n_in``, lane-major) arrive through the ``codes_in`` pipe; at
    step ``k = 1..frames`` the source sends ``codes[k-1] - codes[k-2]`` (``codes[-1] = 0``: the
    encoder starts from input 0), at later steps 0. ``messages`` (nonzero messages) and
    ``payload_abs`` (summed ``|payload|``) count per lane and component over the batch and
    go to the host as ``[messages, payload_abs]`` at the batch's last step (``report`` pipe).
    """

    def __init__(self, *, shape, frames: int, period: int, name=None):
        shape = _flat_shape(shape)
        super().__init__(shape=shape, frames=int(frames), name=name)
        self.codes_in = InPort(shape=(int(frames) * int(np.prod(shape)),))
        self.codes_in.flag_external_pipe(buffer_size=PIPE_BUFFER)
        self.s_out = OutPort(shape=shape)
        _report_port(self, shape, True)
        self.messages = Var(shape=shape, init=0)
        self.payload_abs = Var(shape=shape, init=0)
        self.t = Var(shape=(1,), init=0)
        self.period = Var(shape=(1,), init=period)


class DeltaNeuron(AbstractProcess):
    """A population of ``sigma-delta`` neurons (:mod:`lava_pinn.neurons.sigma_delta`) over lanes:
    ``size = lanes * n`` flat, lane-major, one copy of a layer's ``n`` neurons per lane.

    Per step: ``(s, state) = int_step((sigma, act, residue, rem), (a_in, a_fine), params)``
    (``a_fine``: the raw sums of a fine weight group, added exactly)
    with ``params = (bias, vth, lo, shift, table, sum_shift)`` (integers in the units of
    :mod:`exporters.sigma_delta.intnet`); ``s`` (the graded payload) goes out on ``s_out``;
    ``messages += [s != 0]``, ``payload_abs += |s|``. At step 1 of each ``period``-step batch
    the state returns to the rest state (``sigma = sigma0``, ``act = act0``, ``residue = 0``)
    and the counters to 0; at the batch's last step ``[messages, payload_abs]`` go to the host
    (``report`` pipe). ``table``: the layer's activation table ``(N + 1,)``, shared by all.
    """

    def __init__(
        self,
        *,
        shape,
        sigma,
        act,
        rem,
        bias,
        vth,
        lo,
        shift,
        table,
        period: int,
        sum_shift=8,
        name=None,
    ):
        shape = _flat_shape(shape)
        super().__init__(shape=shape, name=name)
        self.a_in = InPort(shape=shape)
        self.a_fine = InPort(shape=shape)
        self.s_out = OutPort(shape=shape)
        _report_port(self, shape, True)
        table = np.asarray(table)
        self.sigma0 = Var(shape=shape, init=sigma)
        self.act0 = Var(shape=shape, init=act)
        self.sigma = Var(shape=shape, init=sigma)
        self.act = Var(shape=shape, init=act)
        self.rem0 = Var(shape=shape, init=rem)
        self.rem = Var(shape=shape, init=rem)
        self.residue = Var(shape=shape, init=0)
        self.bias = Var(shape=shape, init=bias)
        self.vth = Var(shape=shape, init=vth)
        self.lo = Var(shape=shape, init=lo)
        self.shift = Var(shape=shape, init=shift)
        self.sum_shift = Var(shape=shape, init=sum_shift)
        self.table = Var(shape=table.shape, init=table)
        self.messages = Var(shape=shape, init=0)
        self.payload_abs = Var(shape=shape, init=0)
        self.t = Var(shape=(1,), init=0)
        self.period = Var(shape=(1,), init=period)


class DeltaReadout(AbstractProcess):
    """The integrating readout of a sigma-delta network (a Sigma unit), over lanes.

    Per step ``acc += (a_in << 8) + a_fine``, from ``acc = acc0`` (the readout's rest value)
    at step 1 of each ``period``-step batch. At every step ``t`` (1-based within the batch)
    listed in ``record_at`` ``(R,)`` the accumulator is kept (row ``j`` for
    ``record_at[j] == t``); at the batch's last step ``[trace rows..., acc]`` (``R + 1`` arrays
    of ``size``) go to the host (``report`` pipe).
    """

    def __init__(self, *, shape, acc0, record_at, period: int, name=None):
        shape = _flat_shape(shape)
        record_at = np.asarray(record_at, dtype=np.int64).reshape(-1)
        super().__init__(shape=shape, name=name)
        self.a_in = InPort(shape=shape)
        self.a_fine = InPort(shape=shape)
        _report_port(self, shape, True, rows=record_at.shape[0] + 1)
        self.acc0 = Var(shape=shape, init=acc0)
        self.acc = Var(shape=shape, init=acc0)
        self.record_at = Var(shape=record_at.shape, init=record_at)
        self.trace = Var(shape=(record_at.shape[0], int(np.prod(shape))), init=0)
        self.t = Var(shape=(1,), init=0)
        self.period = Var(shape=(1,), init=period)
