"""ProcessModels of :mod:`exporters.lava_procs.process` (numpy only, no torch).

One ``floating_pt`` and one ``fixed_pt`` model serve every custom neuron model: each looks its
neuron up by name in :data:`lava_pinn.neurons.NEURONS` and calls that model's ``step`` or
``int_step``, the same functions the torch simulator and the integer twin call.
"""

from __future__ import annotations

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from exporters import fixed_point as fp
from exporters.lava_procs.process import (
    Accumulator,
    BatchDense,
    DeltaNeuron,
    DeltaReadout,
    DeltaSource,
    Neuron,
)
from lava_pinn.neurons import NEURONS
from lava_pinn.neurons.sigma_delta import FINE_SHIFT, DeltaParams, int_step

SPIKE_BITS = 24  # graded payloads travel in 24 bits on Loihi 2


def _report(model: PyLoihiProcessModel, first: np.ndarray, second: np.ndarray) -> None:
    """At the window's last step: ``[first, second]`` to the host pipe, if there is one."""
    if model.proc_params.get("report", False):
        model.report.csp_ports[-1].send(np.concatenate([first, second]).astype(float))


_WINDOW = ("t", "t_start", "t_end", "period")


def _typed(
    in_ports=(), out_ports=(), arrays=(), *, fixed: bool, spike_bits: int = 32, window=_WINDOW
):
    """Class decorator declaring the LavaPyTypes of a model's ports and Vars: float in
    ``floating_pt``; in ``fixed_pt`` int64 Vars and 32-bit input ports. Step counters and
    windows (``window``, default :data:`_WINDOW`) are always int64; the host report pipe is
    always float."""
    num = np.int64 if fixed else float

    def decorate(cls):
        for name in in_ports:
            bits = {"precision": 32} if fixed else {}
            setattr(cls, name, LavaPyType(PyInPort.VEC_DENSE, num, **bits))
        for name in out_ports:
            if fixed:
                setattr(cls, name, LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=spike_bits))
            else:
                setattr(cls, name, LavaPyType(PyOutPort.VEC_DENSE, float))
        cls.report = LavaPyType(PyOutPort.VEC_DENSE, float)
        for name in arrays:
            setattr(cls, name, LavaPyType(np.ndarray, num))
        for name in window:
            setattr(cls, name, LavaPyType(np.ndarray, np.int64))
        return cls

    return decorate


_NEURON_VARS = {
    "in_ports": ("a_in", "bias_in"),
    "out_ports": ("s_out",),
    "arrays": ("v0", "state0", "state", "bias", "vth", "count", "events"),
}
_ACC_VARS = {"in_ports": ("a_in",), "arrays": ("acc", "abs_acc")}


class _NeuronModel(PyLoihiProcessModel):
    """The window, reset, counting and host I/O of :class:`Neuron`; subclasses give
    :meth:`_advance` (one step of the neuron model on the whole population)."""

    def __init__(self, proc_params) -> None:
        super().__init__(proc_params)
        self.model = NEURONS.get(proc_params["neuron"])

    def _advance(self, a: np.ndarray) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError

    def run_spk(self) -> None:
        a = self.a_in.recv()
        t = self.t[0] = self.t[0] % self.period[0] + 1
        if t == 1:  # a new batch: back to the initial state
            self.state[:] = self.state0
            self.count[:] = 0
            self.events[:] = 0
            if self.proc_params.get("host_bias", False):
                self.bias[:] = self.bias_in.recv()
        if self.t_start[0] <= t <= self.t_end[0]:
            s = self._advance(a)
            self.count[:] += s
            self.events[:] += s != 0  # messages sent, whatever their sign or payload
            if t == self.t_end[0]:
                _report(self, self.count, self.events)
        else:
            s = np.zeros(self.count.shape, dtype=self.count.dtype)
        self.s_out.send(s)


@implements(proc=Neuron, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
@_typed(**_NEURON_VARS, fixed=False)
class PyNeuronModelFloat(_NeuronModel):
    """Float neuron: ``model.step(v, a + bias, vth)`` on the ``v`` row of ``state``."""

    def _advance(self, a: np.ndarray) -> np.ndarray:
        i = self.model.state_vars.index("v")
        s, v = self.model.step(self.state[i], a + self.bias, self.vth)
        self.state[i] = v
        return np.asarray(s, dtype=float)


@implements(proc=Neuron, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt", "bit_accurate_loihi")
@_typed(**_NEURON_VARS, fixed=True, spike_bits=SPIKE_BITS)
class PyNeuronModelFixed(_NeuronModel):
    """Integer neuron: ``model.int_step(state, a, bias, vth)``."""

    def _advance(self, a: np.ndarray) -> np.ndarray:
        th = int(self.vth[0]) if self.model.uniform_threshold else self.vth
        s, state = self.model.int_step(tuple(self.state), a, self.bias, th)
        self.state[:] = np.stack(state)
        return s


class _AccumulatorModel(PyLoihiProcessModel):
    def run_spk(self) -> None:
        a = self.a_in.recv()
        t = self.t[0] = self.t[0] % self.period[0] + 1
        if t == 1:
            self.acc[:] = 0
            self.abs_acc[:] = 0
        if self.t_start[0] <= t <= self.t_end[0]:
            self.acc[:] += a
            self.abs_acc[:] += abs(a)
            if t == self.t_end[0]:
                _report(self, self.acc, self.abs_acc)


@implements(proc=Accumulator, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
@_typed(**_ACC_VARS, fixed=False)
class PyAccumulatorModelFloat(_AccumulatorModel):
    """Float accumulator."""


@implements(proc=Accumulator, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt", "bit_accurate_loihi")
@_typed(**_ACC_VARS, fixed=True)
class PyAccumulatorModelFixed(_AccumulatorModel):
    """Integer accumulator."""


class _BatchDenseModel(PyLoihiProcessModel):
    def _matmul(self, s):
        batch = int(self.proc_params["batch"])
        n_in = self._w.shape[1]
        return s.reshape(batch, n_in).astype(self._w.dtype) @ self._w.T


@implements(proc=BatchDense, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyBatchDenseModelFloat(_BatchDenseModel):
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    a_buff: np.ndarray = LavaPyType(np.ndarray, float)
    weights: np.ndarray = LavaPyType(np.ndarray, float)
    num_message_bits: np.ndarray = LavaPyType(np.ndarray, int, precision=5)

    def run_spk(self) -> None:
        self._w = self.weights
        self.a_out.send(self.a_buff)
        self.a_buff = self._matmul(self.s_in.recv()).reshape(-1)


@implements(proc=BatchDense, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt", "bit_accurate_loihi")
class PyBatchDenseModelFixed(_BatchDenseModel):
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int64, precision=32)
    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=32)
    a_buff: np.ndarray = LavaPyType(np.ndarray, np.int64)
    weights: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=8)
    num_message_bits: np.ndarray = LavaPyType(np.ndarray, int, precision=5)

    def __init__(self, proc_params) -> None:
        super().__init__(proc_params)
        self._w = None

    def run_spk(self) -> None:
        if self._w is None:  # Lava's Dense clips/truncates once, on its first step
            w = fp.dense_effective_weights(self.weights.astype(np.int64))
            # Spikes (binary, or graded payloads below 2**num_message_bits) times 8-bit
            # weights: every partial sum is an integer of magnitude <= max |s| *
            # max_i sum_j |W_ij|, exact in float32 below 2**24 (else float64, below 2**53).
            nmb = int(self.num_message_bits[0])
            smax = 2**nmb - 1 if nmb else 1
            exact32 = w.size == 0 or smax * int(np.abs(w).sum(axis=1).max()) < 2**24
            self._w = w.astype(np.float32 if exact32 else np.float64)
        self.a_out.send(self.a_buff)
        s = self.s_in.recv()
        if self.num_message_bits[0] == 0:
            s = s != 0  # binary spikes, as Lava's Dense reads them
        acc = self._matmul(s).astype(np.int64)
        self.a_buff = fp.dense_output(acc, int(self.proc_params["weight_exp"])).reshape(-1)


# ---------------------------------------------------------------------------- sigma-delta
_BATCH = ("t", "period")  # a step counter that wraps at the batch length: no window


def _tick(model: PyLoihiProcessModel) -> int:
    """Advance the batch step counter ``t`` (1..period) and return it."""
    t = model.t[0] = model.t[0] % model.period[0] + 1
    return int(t)


def _send_report(model: PyLoihiProcessModel, *rows: np.ndarray) -> None:
    model.report.csp_ports[-1].send(np.concatenate([r.reshape(-1) for r in rows]).astype(float))


@implements(proc=DeltaSource, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt", "bit_accurate_loihi")
@_typed(
    ("codes_in",),
    ("s_out",),
    ("messages", "payload_abs"),
    fixed=True,
    spike_bits=SPIKE_BITS,
    window=_BATCH,
)
class PyDeltaSourceModelFixed(PyLoihiProcessModel):
    """The encoder: frame ``k``'s change of code at step ``k`` of the batch, then zeros."""

    def run_spk(self) -> None:
        t = _tick(self)
        n = self.messages.shape[0]
        if t == 1:
            self._codes = self.codes_in.recv().reshape(-1, n)
            self._prev = np.zeros(n, dtype=np.int64)
            self.messages[:] = 0
            self.payload_abs[:] = 0
        s = np.zeros(n, dtype=np.int64)
        if t <= self._codes.shape[0]:
            s = self._codes[t - 1] - self._prev
            self._prev = self._codes[t - 1]
            self.messages[:] += s != 0
            self.payload_abs[:] += abs(s)
        if t == self.period[0]:
            _send_report(self, self.messages, self.payload_abs)
        self.s_out.send(s)


_DELTA_VARS = (
    "sigma0",
    "act0",
    "rem0",
    "sigma",
    "act",
    "residue",
    "rem",
    "bias",
    "vth",
    "lo",
    "shift",
    "sum_shift",
)


@implements(proc=DeltaNeuron, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt", "bit_accurate_loihi")
@_typed(
    ("a_in", "a_fine"),
    ("s_out",),
    (*_DELTA_VARS, "table", "messages", "payload_abs"),
    fixed=True,
    spike_bits=SPIKE_BITS,
    window=_BATCH,
)
class PyDeltaNeuronModelFixed(PyLoihiProcessModel):
    """``sigma-delta`` neurons: :func:`lava_pinn.neurons.sigma_delta.int_step`, the function
    the integer twin calls, on the int64 Vars."""

    def run_spk(self) -> None:
        a = self.a_in.recv()
        a_fine = self.a_fine.recv()
        if _tick(self) == 1:  # a new batch: back to the rest state
            self.sigma[:] = self.sigma0
            self.act[:] = self.act0
            self.rem[:] = self.rem0
            self.residue[:] = 0
            self.messages[:] = 0
            self.payload_abs[:] = 0
        p = DeltaParams(
            bias=self.bias,
            vth=self.vth,
            lo=self.lo,
            shift=self.shift,
            table=self.table,
            origin=self.act0,
            sum_shift=self.sum_shift,
        )
        state = (self.sigma, self.act, self.residue, self.rem)
        s, (sigma, act, residue, rem) = int_step(state, (a, a_fine), p)
        self.rem[:] = rem
        self.sigma[:] = sigma
        self.act[:] = act
        self.residue[:] = residue
        self.messages[:] += s != 0
        self.payload_abs[:] += abs(s)
        if self.t[0] == self.period[0]:
            _send_report(self, self.messages, self.payload_abs)
        self.s_out.send(s)


@implements(proc=DeltaReadout, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt", "bit_accurate_loihi")
@_typed(("a_in", "a_fine"), (), ("acc0", "acc", "record_at", "trace"), fixed=True, window=_BATCH)
class PyDeltaReadoutModelFixed(PyLoihiProcessModel):
    """The Sigma readout: ``acc += (a_in << 8) + a_fine`` from ``acc0``; kept at the steps
    ``record_at``."""

    def run_spk(self) -> None:
        a = (self.a_in.recv() << FINE_SHIFT) + self.a_fine.recv()
        t = _tick(self)
        if t == 1:
            self.acc[:] = self.acc0
        self.acc[:] += a
        self.trace[self.record_at == t] = self.acc
        if t == self.period[0]:
            _send_report(self, self.trace, self.acc)
