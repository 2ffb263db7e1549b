"""ProcessModels of :mod:`exporters.lava_procs.process` (numpy only, no torch)."""

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
    GradedSoftIF,
    SignedSoftIF,
    SoftIF,
)
from lava_pinn import neurons as float_neurons


def _report(model: PyLoihiProcessModel, first: np.ndarray, second: np.ndarray) -> None:
    """At the window's last step: ``[first, second]`` to the host pipe, if there is one."""
    if model.proc_params.get("report", False):
        model.report.csp_ports[-1].send(np.concatenate([first, second]).astype(float))


class _NeuronModel(PyLoihiProcessModel):
    def _step(self, v, current, vth):  # pragma: no cover - overridden
        raise NotImplementedError

    def run_spk(self) -> None:
        a = self.a_in.recv()
        t = self.t[0] = self.t[0] % self.period[0] + 1
        if t == 1:  # a new batch: back to the initial state
            self.v[:] = self.v0
            self.count[:] = 0
            self.events[:] = 0
            if self.proc_params.get("host_bias", False):
                self.bias[:] = self.bias_in.recv()
        if self.t_start[0] <= t <= self.t_end[0]:
            s, v = self._step(self.v, a + self.bias, self.vth)
            self.v[:] = v
            self.count[:] += s
            self.events[:] += s != 0  # messages sent, whatever their sign or payload
            if t == self.t_end[0]:
                _report(self, self.count, self.events)
        else:
            s = np.zeros(self.v.shape, dtype=self.v.dtype)
        self.s_out.send(s)


def _float_vars(cls):
    cls.a_in = LavaPyType(PyInPort.VEC_DENSE, float)
    cls.bias_in = LavaPyType(PyInPort.VEC_DENSE, float)
    cls.report = LavaPyType(PyOutPort.VEC_DENSE, float)
    cls.s_out = LavaPyType(PyOutPort.VEC_DENSE, float)
    for name in ("v0", "v", "bias", "vth", "count", "events"):
        setattr(cls, name, LavaPyType(np.ndarray, float))
    for name in ("t", "t_start", "t_end", "period"):
        setattr(cls, name, LavaPyType(np.ndarray, np.int64))
    return cls


def _fixed_vars(cls, spike_bits: int = 2):
    cls.a_in = LavaPyType(PyInPort.VEC_DENSE, np.int64, precision=32)
    cls.bias_in = LavaPyType(PyInPort.VEC_DENSE, np.int64, precision=32)
    cls.report = LavaPyType(PyOutPort.VEC_DENSE, float)
    cls.s_out = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=spike_bits)
    for name in ("v0", "v", "bias", "vth", "count", "events", "t", "t_start", "t_end", "period"):
        setattr(cls, name, LavaPyType(np.ndarray, np.int64))
    return cls


@implements(proc=SoftIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
@_float_vars
class PySoftIFModelFloat(_NeuronModel):
    """Float soft-reset IF: :func:`lava_pinn.neurons.if_soft_step`."""

    def _step(self, v, current, vth):
        s, v = float_neurons.if_soft_step(v, current, vth)
        return s.astype(float), v


@implements(proc=SoftIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt", "bit_accurate_loihi")
@_fixed_vars
class PySoftIFModelFixed(_NeuronModel):
    """Integer soft-reset IF: :func:`exporters.fixed_point.if_soft_step_int`."""

    def _step(self, v, current, vth):
        return fp.if_soft_step_int(v, current, vth)


@implements(proc=SignedSoftIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
@_float_vars
class PySignedSoftIFModelFloat(_NeuronModel):
    """Float signed IF: :func:`lava_pinn.neurons.signed_if_step`."""

    def _step(self, v, current, vth):
        s, v = float_neurons.signed_if_step(v, current, vth)
        return np.asarray(s, dtype=float), v


@implements(proc=SignedSoftIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt", "bit_accurate_loihi")
@_fixed_vars
class PySignedSoftIFModelFixed(_NeuronModel):
    """Integer signed IF: :func:`exporters.fixed_point.signed_if_step_int`."""

    def _step(self, v, current, vth):
        return fp.signed_if_step_int(v, current, vth)


@implements(proc=GradedSoftIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
@_float_vars
class PyGradedSoftIFModelFloat(_NeuronModel):
    """Float graded IF: :func:`lava_pinn.neurons.graded_if_step`."""

    def _step(self, v, current, vth):
        s, v = float_neurons.graded_if_step(v, current, vth)
        return np.asarray(s, dtype=float), v


def _graded_fixed_vars(cls):
    return _fixed_vars(cls, spike_bits=8)


@implements(proc=GradedSoftIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt", "bit_accurate_loihi")
@_graded_fixed_vars
class PyGradedSoftIFModelFixed(_NeuronModel):
    """Integer graded IF: :func:`exporters.fixed_point.graded_if_step_int`."""

    def _step(self, v, current, vth):
        return fp.graded_if_step_int(
            v, current, vth, float_neurons.GRADED_LEVELS, float_neurons.GRADED_MARGIN
        )


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
class PyAccumulatorModelFloat(_AccumulatorModel):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    report: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    acc: np.ndarray = LavaPyType(np.ndarray, float)
    abs_acc: np.ndarray = LavaPyType(np.ndarray, float)
    t: np.ndarray = LavaPyType(np.ndarray, np.int64)
    t_start: np.ndarray = LavaPyType(np.ndarray, np.int64)
    t_end: np.ndarray = LavaPyType(np.ndarray, np.int64)
    period: np.ndarray = LavaPyType(np.ndarray, np.int64)


@implements(proc=Accumulator, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt", "bit_accurate_loihi")
class PyAccumulatorModelFixed(_AccumulatorModel):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int64, precision=32)
    report: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    acc: np.ndarray = LavaPyType(np.ndarray, np.int64)
    abs_acc: np.ndarray = LavaPyType(np.ndarray, np.int64)
    t: np.ndarray = LavaPyType(np.ndarray, np.int64)
    t_start: np.ndarray = LavaPyType(np.ndarray, np.int64)
    t_end: np.ndarray = LavaPyType(np.ndarray, np.int64)
    period: np.ndarray = LavaPyType(np.ndarray, np.int64)


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
