"""Custom Lava Processes (see the package docstring for the semantics)."""

from __future__ import annotations

import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var

__all__ = ["SoftIF", "SignedSoftIF", "Accumulator", "BatchDense"]


def _flat_shape(shape: tuple[int, ...] | int) -> tuple[int, ...]:
    return (int(shape),) if np.isscalar(shape) else tuple(int(s) for s in shape)


class _WindowedNeuron(AbstractProcess):
    """Common Vars: ``v``, ``bias``, ``vth`` (per neuron), spike ``count`` (net, signed) and
    ``events`` (number of spikes of either sign), the step counter ``t`` and the window."""

    def __init__(
        self, *, shape, v0=0, bias=0, vth=1, t_start=1, t_end=2**31 - 1, period=2**31 - 1, name=None
    ):
        shape = _flat_shape(shape)
        super().__init__(shape=shape, name=name)
        self.a_in = InPort(shape=shape)
        self.s_out = OutPort(shape=shape)
        self.v0 = Var(shape=shape, init=v0)
        self.v = Var(shape=shape, init=v0)
        self.bias = Var(shape=shape, init=bias)
        self.vth = Var(shape=shape, init=vth)
        self.count = Var(shape=shape, init=0)
        self.events = Var(shape=shape, init=0)
        self.t = Var(shape=(1,), init=0)
        self.t_start = Var(shape=(1,), init=t_start)
        self.t_end = Var(shape=(1,), init=t_end)
        self.period = Var(shape=(1,), init=period)


class SoftIF(_WindowedNeuron):
    """Non-leaky integrate-and-fire, soft reset, spikes in {0, 1}.

    Per active step: ``v += a_in + bias; s = [v >= vth]; v -= s * vth``.
    """


class SignedSoftIF(_WindowedNeuron):
    """Signed integrate-and-fire, soft reset, spikes in {-1, 0, +1} (send them as graded spikes).

    Per active step: ``v += a_in + bias; s = [v >= vth] - [v <= -vth]; v -= s * vth``.
    """


class Accumulator(AbstractProcess):
    """Integrates its input over its window: ``acc += a_in``, ``abs_acc += |a_in|``.

    Serves as the non-spiking readout (behind a Dense) and as a spike counter (fed directly by a
    neuron's ``s_out``: no delay).
    """

    def __init__(self, *, shape, t_start=1, t_end=2**31 - 1, period=2**31 - 1, name=None):
        shape = _flat_shape(shape)
        super().__init__(shape=shape, name=name)
        self.a_in = InPort(shape=shape)
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
