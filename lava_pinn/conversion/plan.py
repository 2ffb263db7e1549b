"""The factored form of a conversion, kept while calibrating, compiled into a SpikingNetwork.

Hidden layer ``l`` of the ANN has units ``h_l = f_l(z_l)``, ``z_l = W_l h_{l-1} + b_l``. Its
spiking version has ``n_l`` neurons (one per unit, or several) described by

* an encoder: neuron currents ``I_l = U_l h_{l-1} + c_l`` (``U_l`` = (n_l, units_{l-1}));
* thresholds ``V_l`` and initial potentials ``v0_l`` (n_l,), a neuron model name;
* a decoder from the neurons' rates ``r_l = counts / T`` back to the units:
  ``h_l ~ E_l r_l + e_l`` (``E_l`` = (units_l, n_l)).

Compiling substitutes the decoder of layer ``l-1`` into the encoder of layer ``l``:
``weight_l = U_l E_{l-1}``, ``bias_l = U_l e_{l-1} + c_l`` (layer 1 takes ``x`` itself), and the
output layer ``W_out E_{L-1}``, ``W_out e_{L-1} + b_out``. Calibration edits ``U, c, V, v0, E, e``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch

from lava_pinn.conversion.network import OutputLayer, SpikingLayer, simulate_from


@dataclass
class PlanLayer:
    U: torch.Tensor
    c: torch.Tensor
    threshold: torch.Tensor
    v0: torch.Tensor
    neuron: str
    E: torch.Tensor
    e: torch.Tensor
    activation: str
    unit_of: torch.Tensor  # (n_l,) long: the ANN unit each neuron belongs to
    # calibration data (not saved): ANN pre-activations/activations, ideal neuron rates
    z_ann: torch.Tensor | None = None
    h_ann: torch.Tensor | None = None
    target_rates: torch.Tensor | None = None

    @property
    def n(self) -> int:
        return int(self.U.shape[0])

    @property
    def units(self) -> int:
        return int(self.E.shape[0])

    def copy(self) -> PlanLayer:
        def c(t):
            return None if t is None else t.clone()

        return replace(
            self,
            U=self.U.clone(),
            c=self.c.clone(),
            threshold=self.threshold.clone(),
            v0=self.v0.clone(),
            E=self.E.clone(),
            e=self.e.clone(),
            z_ann=c(self.z_ann),
            h_ann=c(self.h_ann),
            target_rates=c(self.target_rates),
        )


@dataclass
class Plan:
    layers: list[PlanLayer]
    W_out: torch.Tensor
    b_out: torch.Tensor
    T: int
    info: dict = field(default_factory=dict)

    def copy(self) -> Plan:
        return Plan(
            [la.copy() for la in self.layers],
            self.W_out.clone(),
            self.b_out.clone(),
            self.T,
            dict(self.info),
        )

    def compile(self) -> tuple[tuple[SpikingLayer, ...], OutputLayer]:
        hidden = []
        prev = None
        for la in self.layers:
            if prev is None:
                w, b = la.U, la.c
            else:
                w, b = la.U @ prev.E, la.U @ prev.e + la.c
            hidden.append(
                SpikingLayer(w.clone(), b.clone(), la.neuron, la.threshold.clone(), la.v0.clone())
            )
            prev = la
        out = OutputLayer(self.W_out @ prev.E, self.W_out @ prev.e + self.b_out)
        return tuple(hidden), out

    def run(self, x: torch.Tensor, T: int | None = None):
        """Simulate the compiled chain: ``(y, counts per layer)``."""
        y, counts, _ = self.run_from(x, T=T)
        return y, counts

    def run_from(self, x, T=None, *, start=0, inputs=None, record=None):
        """:meth:`run` from hidden layer ``start`` on (see
        :func:`~lava_pinn.conversion.network.simulate_from`): ``(y, counts, train)`` with
        ``counts[i] = None`` for the layers before ``start``."""
        factors, biases = [], []
        prev = None
        for la in self.layers:
            if prev is None:
                factors.append((la.U,))
                biases.append(la.c)
            else:
                factors.append((la.U, prev.E))
                biases.append(la.U @ prev.e + la.c)
            prev = la
        r, counts, train = simulate_from(
            factors,
            biases,
            [la.neuron for la in self.layers],
            [la.threshold for la in self.layers],
            [la.v0 for la in self.layers],
            x,
            self.T if T is None else T,
            start=start,
            inputs=inputs,
            record=record,
        )
        W = self.W_out @ prev.E
        return r @ W.T + (self.W_out @ prev.e + self.b_out), counts, train

    def decoded(self, counts: list[torch.Tensor], T: int | None = None) -> list[torch.Tensor]:
        """Unit activations each layer's decoder reads from spike counts."""
        T = self.T if T is None else T
        return [(c / T) @ la.E.T + la.e for la, c in zip(self.layers, counts, strict=False)]
