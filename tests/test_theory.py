"""Numerical checks of the claims in docs/theory.md, on seeded random networks.

Lemma 1 (residual identity), Theorem 1 (constant-current IF count and its V/(2T) rate error),
Theorem 2 (layer-wise error propagation bound), Theorem 3 (bias correction and decoder refit are
optimal for the layer-wise MSE; the guard makes every calibration method never worse), Theorem 4
(piecewise-linear units: rate error 1/(2T) on one partially active neuron per unit, limit = the
interpolating network; the one-neuron conversion does not converge to the ANN).
"""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from torch import nn

import lava_pinn
from lava_pinn.activations import Sin
from lava_pinn.conversion import options_for
from lava_pinn.conversion.calibration import CALIBRATIONS
from lava_pinn.conversion.network import OutputLayer, SpikingLayer, simulate
from lava_pinn.conversion.plan import PlanLayer
from lava_pinn.conversion.representations import fit_decoder
from lava_pinn.neurons import NEURONS, if_soft_step

F64 = torch.float64


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _run_neuron(name: str, currents: torch.Tensor, V: torch.Tensor, v0: torch.Tensor):
    """Drive neurons with ``currents (n, T)``; returns (net spike count, final potential)."""
    step = NEURONS.get(name).step
    v = v0.clone()
    count = torch.zeros_like(v)
    for t in range(currents.shape[1]):
        s, v = step(v, currents[:, t], V)
        count += s.to(F64)
    return count, v


# ------------------------------------------------------------------ Lemma 1, Theorem 1
@pytest.mark.parametrize("T", [1, 7, 16, 64])
def test_theorem1_constant_current_count_and_rate_error(T):
    g = _gen(T)
    n = 4000
    V = 0.2 + torch.rand(n, generator=g, dtype=F64)
    current = (torch.rand(n, generator=g, dtype=F64) * 2 - 0.5) * V  # in [-V/2, 3V/2)
    count, _ = _run_neuron("if", current[:, None].expand(n, T), V, V / 2)
    assert torch.equal(count, torch.clamp(torch.floor(current * T / V + 0.5), 0, T))
    err = (V * count / T - current.clamp(min=torch.zeros_like(V), max=V)).abs()
    assert bool((err <= V / (2 * T) * (1 + 1e-12)).all())
    off, full = current <= 0, current >= V  # no rounding at all outside (0, V)
    assert off.any() and full.any()
    assert bool((count[off] == 0).all()) and bool((count[full] == T).all())


@pytest.mark.parametrize("neuron", ["if", "signed-if", "graded-if", "lif-hard"])
def test_lemma1_residual_identity(neuron):
    g = _gen(1)
    n, T = 3000, 40
    V = 0.5 + torch.rand(n, generator=g, dtype=F64)
    v0 = V / 2
    currents = (torch.randn(n, T, generator=g, dtype=F64) * 0.6 + 0.3) * V[:, None]
    count, vT = _run_neuron(neuron, currents, V, v0)
    budget = v0 + currents.sum(1) - vT  # what soft reset spends on spikes
    if NEURONS.get(neuron).reset == "soft":
        assert torch.allclose(V * count, budget, rtol=0, atol=1e-9)
    else:  # hard reset throws away the charge above threshold at every spike
        assert bool((V * count <= budget + 1e-9).all())
        assert bool((V * count < budget - 1e-9).any())
    if neuron == "if":  # Corollary: residue in [0, V) -> rate error <= V / (2T)
        ok = (vT >= 0) & (vT < V)
        err = (V * count / T - currents.mean(1)).abs()
        assert ok.any() and bool((err[ok] <= V[ok] / (2 * T) * (1 + 1e-12)).all())


def test_soft_step_is_the_documented_update():
    v, s = torch.tensor([0.3, 0.9, 2.5], dtype=F64), None
    s, v1 = if_soft_step(v, torch.tensor([0.1, 0.2, 0.0], dtype=F64), torch.tensor(1.0, dtype=F64))
    assert s.tolist() == [False, True, True]
    assert torch.allclose(v1, torch.tensor([0.4, 0.1, 1.5], dtype=F64))


# ------------------------------------------------------------------ Theorem 2
def _random_mlp(seed: int, widths: tuple[int, ...], d_in: int = 2, d_out: int = 2):
    g = _gen(seed)
    dims = [d_in, *widths, d_out]
    Ws, bs = [], []
    for a, b in zip(dims[:-1], dims[1:], strict=True):
        Ws.append(torch.randn(b, a, generator=g, dtype=F64) * math.sqrt(2.0 / (a + b)))
        bs.append(torch.randn(b, generator=g, dtype=F64) * 0.1)
    return Ws, bs


def _hardtanh_snn(Ws, bs, x, T):
    """One IF neuron per unit, ``V = 2``, ``v0 = 1``, current ``z + 1``: ``h^ = 2 r - 1``
    (the clipped-linear 'direct' conversion of a tanh unit). Returns y and decoded ``h^_l``."""
    hidden = []
    for i, (W, b) in enumerate(zip(Ws[:-1], bs[:-1], strict=True)):
        n = W.shape[0]
        if i == 0:
            w, c = W, b + 1
        else:  # input h^ = 2 s - 1 from spikes s of the previous layer
            w, c = 2 * W, b - W.sum(1) + 1
        full = torch.full((n,), 2.0, dtype=F64)
        hidden.append(SpikingLayer(w, c, "if", full, full / 2))
    out = OutputLayer(2 * Ws[-1], bs[-1] - Ws[-1].sum(1))
    y, counts = simulate(hidden, out, x, T)
    return y, [2 * c / T - 1 for c in counts]


@pytest.mark.parametrize(
    ("seed", "widths", "act", "T"),
    [
        (0, (8, 8), torch.tanh, 8),
        (1, (16, 12, 8), torch.tanh, 32),
        (2, (10, 10, 10, 10), torch.sin, 16),
    ],
)
def test_theorem2_error_propagation_bound(seed, widths, act, T):
    Ws, bs = _random_mlp(seed, widths)
    x = torch.rand(500, 2, generator=_gen(seed + 10), dtype=F64) * 4 - 2
    y_snn, hs = _hardtanh_snn(Ws, bs, x, T)
    h, prev = x, x
    bound = torch.zeros(x.shape[0], dtype=F64)
    norms = [float(torch.linalg.matrix_norm(W, ord=2)) for W in Ws]
    for l, (W, b) in enumerate(zip(Ws[:-1], bs[:-1], strict=True)):
        h = act(h @ W.T + b)  # ANN
        local = (hs[l] - act(prev @ W.T + b)).norm(dim=1)  # eps_l: layer l's own error
        gain = math.prod(norms[l + 1 :])  # ||W_out|| prod_{k>l} Lip(f_k) ||W_k||, Lip = 1
        bound += gain * local
        prev = hs[l]
    y_ann = h @ Ws[-1].T + bs[-1]
    err = (y_snn - y_ann).norm(dim=1)
    assert bool((err <= bound * (1 + 1e-9) + 1e-12).all())
    assert float(err.mean()) > 1e-3  # the SNN is not trivially exact


# ------------------------------------------------------------------ Theorem 3
def test_theorem3_bias_correction_is_optimal_shift():
    Ws, bs = _random_mlp(3, (12, 12))
    x = torch.rand(400, 2, generator=_gen(4), dtype=F64) * 4 - 2
    _, hs = _hardtanh_snn(Ws, bs, x, 16)
    target = torch.tanh(hs[0] @ Ws[1].T + bs[1])  # layer 2's ANN output given its SNN input
    D = hs[1] - target
    mu = D.mean(0)
    mse = lambda M: float(M.pow(2).sum(1).mean())  # noqa: E731
    assert math.isclose(mse(D - mu), mse(D) - float(mu.pow(2).sum()), rel_tol=1e-10)
    g = _gen(5)
    for _ in range(20):
        delta = torch.randn(D.shape[1], generator=g, dtype=F64) * 0.05
        assert mse(D - mu) <= mse(D + delta) + 1e-15


def test_theorem3_decoder_refit_never_increases_layer_mse():
    g = _gen(6)
    n_pts, units, per = 300, 5, 3
    unit_of = torch.arange(units).repeat_interleave(per)
    E0 = torch.zeros(units, units * per, dtype=F64)
    E0[unit_of, torch.arange(units * per)] = torch.randn(units * per, generator=g, dtype=F64)
    layer = PlanLayer(
        U=torch.randn(units * per, 2, generator=g, dtype=F64),
        c=torch.zeros(units * per, dtype=F64),
        threshold=torch.ones(units * per, dtype=F64),
        v0=torch.full((units * per,), 0.5, dtype=F64),
        neuron="if",
        E=E0.clone(),
        e=torch.zeros(units, dtype=F64),
        activation="tanh",
        unit_of=unit_of,
    )
    rates = torch.floor(torch.rand(n_pts, units * per, generator=g, dtype=F64) * 17) / 16
    target = torch.tanh(torch.randn(n_pts, units, generator=g, dtype=F64))
    before = (rates @ layer.E.T + layer.e - target).pow(2).mean(0)
    for ridge in (0.0, 1e-4, 1.0):
        fit_decoder(layer, rates, target, ridge=ridge)
        after = (rates @ layer.E.T + layer.e - target).pow(2).mean(0)
        assert bool((after <= before + 1e-12).all())
        assert torch.equal(layer.E != 0, E0 != 0) or ridge == 0.0  # stays within each unit
        before = after


@pytest.mark.parametrize("representation", ["direct", "pwl"])
@pytest.mark.parametrize("method", [m for m in CALIBRATIONS.available() if m != "none"])
def test_theorem3_guard_every_method_never_worse(method, representation):
    torch.manual_seed(7)
    net = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 8), Sin(), nn.Linear(8, 2))
    net = net.double()
    x = torch.rand(128, 2, generator=_gen(8), dtype=F64) * 2 - 1
    common = dict(pieces=3, calibration_steps=5, finetune_iters=5)
    kw = dict(T=8, representation=representation)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = lava_pinn.convert(
            net, x, calibration="none", **kw, **options_for(representation, "none", **common)
        )
        more = options_for(representation, method, **common)
        cal = lava_pinn.convert(net, x, calibration=method, **kw, **more)
    with torch.no_grad():
        y = net(x)
    e0 = float((base(x) - y).norm() / y.norm())
    e1 = float((cal(x) - y).norm() / y.norm())
    assert e1 <= e0
    for entry in cal.metadata.get("calibration_log", []):
        assert entry["kept"] == (entry["after"] < entry["before"])


# ------------------------------------------------------------------ Theorem 4 (pwl)
def _one_layer_net(seed: int, units: int = 12) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(1, units), nn.Tanh(), nn.Linear(units, 1)).double()


def test_theorem4_pwl_rate_error_on_one_partial_neuron_per_unit():
    net = _one_layer_net(0)
    x = torch.linspace(-1, 1, 257, dtype=F64)[:, None]
    snn = lava_pinn.convert(net, x, T=4, representation="pwl", pieces=6, calibration="none")
    first = snn.hidden[0]
    current = x @ first.weight.T + first.bias
    ideal = (current / first.threshold).clamp(0, 1)
    y_inf = ideal @ snn.output.weight.T + snn.output.bias  # the T -> infinity network
    assert torch.allclose(first.v0, first.threshold / 2)
    partial = (current > 0) & (current < first.threshold)
    assert int(partial.sum(1).max()) <= 12  # at most one partially active neuron per unit
    gaps = []
    for T in (4, 16, 64, 256):
        y_T, counts = snn.run(x, T=T)
        r = counts[0] / T
        assert bool(((r - ideal).abs() <= 1 / (2 * T) + 1e-12).all())
        assert bool((r[~partial] == ideal[~partial]).all())
        bound = (partial.to(F64) * snn.output.weight.abs()).sum(1) / (2 * T)
        gap = (y_T - y_inf).abs()[:, 0]
        assert bool((gap <= bound * (1 + 1e-9) + 1e-12).all())
        gaps.append(float(gap.max()))
    assert gaps[-1] < gaps[0] / 8


def test_theorem4_pwl_converges_to_ann_direct_does_not():
    net = _one_layer_net(1)
    x = torch.linspace(-1, 1, 301, dtype=F64)[:, None]
    with torch.no_grad():
        y = net(x)

    def err(rep, T):
        snn = lava_pinn.convert(net, x, T=T, representation=rep, calibration="none")
        return float((snn(x) - y).norm() / y.norm())

    pwl = [err("pwl", T) for T in (16, 64, 512)]
    direct = [err("direct", T) for T in (16, 512, 4096)]
    assert pwl[0] > pwl[1] > pwl[2]
    assert direct[2] > 0.8 * direct[1]  # plateau: the clipped-linear limit is not tanh
    assert pwl[2] < direct[1] / 10

    def limit_err(pieces):  # the T -> infinity network: rates clip(I / V, 0, 1)
        snn = lava_pinn.convert(
            net, x, T=1, representation="pwl", pieces=pieces, calibration="none"
        )
        first = snn.hidden[0]
        r = ((x @ first.weight.T + first.bias) / first.threshold).clamp(0, 1)
        return float((r @ snn.output.weight.T + snn.output.bias - y).norm() / y.norm())

    # more pieces -> smaller interpolation error of the limit network (O(w^2))
    assert limit_err(16) < limit_err(4) / 4
