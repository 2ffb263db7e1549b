"""Sigma-delta neurons, conversion, quantization, twin, thresholds and QAT (closed forms and
invariants; the Lava equality is tests/test_sigma_delta_lava.py)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from exporters.sigma_delta import quantize_delta, run_static, run_stream
from exporters.sigma_delta.intnet import quantize_weights, weight_rows
from exporters.sigma_delta.thresholds import (
    BudgetError,
    choose_thresholds,
    frame_evaluator,
    static_evaluator,
)
from lava_pinn.conversion.network import SpikingLayer
from lava_pinn.neurons import NEURONS, available
from lava_pinn.neurons.sigma_delta import DeltaParams, int_step, relu_int_step, table_act
from lava_pinn.sigma_delta import convert_sigma_delta, run_float
from lava_pinn.sigma_delta.qat import fake_quant_rows, finetune_quantized


def _mlp(act: nn.Module, seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 16), act, nn.Linear(16, 16), act, nn.Linear(16, 2)).double()


def _points(n: int = 512, seed: int = 1) -> torch.Tensor:
    return (
        torch.rand(n, 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 2 - 1
    )


def test_delta_models_are_registered_as_delta_coded():
    assert set(available("delta")) == {"sigma-delta", "sigma-delta-relu"}
    assert not NEURONS.get("sigma-delta").loihi_native
    assert NEURONS.get("sigma-delta-relu").loihi_native
    assert "sigma-delta" not in available("rate")


def test_rate_layer_refuses_a_delta_neuron():
    w = torch.ones(2, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match="sigma-delta neuron, not rate-coded"):
        SpikingLayer(w, torch.zeros(2), "sigma-delta", torch.ones(2), torch.zeros(2))


def test_table_interpolates_exactly_between_entries():
    table = torch.tensor([0, 100, 300, 300, 200])  # segments of width 2**4
    lo, sh = torch.tensor(-32), torch.tensor(4)
    u = torch.tensor([-32, -24, -16, 0, 8, 31, 32, 40, -48])
    # -48: extrapolates the first segment (slope 100/16) below the table: 0 - 100 = -100
    assert table_act(u, lo, sh, table).tolist() == [0, 50, 100, 300, 300, 206, 200, 150, -100]


def _identity_params(vth: int, origin: int = 0) -> DeltaParams:
    return DeltaParams(
        bias=torch.tensor([0]),
        vth=torch.tensor([vth]),
        lo=torch.tensor(0),
        shift=torch.tensor(0),
        table=torch.arange(0, 1001),
        origin=torch.tensor([origin]),
    )  # identity on [0, 1000]


def test_delta_step_sends_the_activation_rounded_to_the_threshold_grid():
    p = _identity_params(10, origin=3)
    state = (torch.tensor([3]), torch.tensor([3]), torch.tensor([0]), torch.tensor([0]))
    sent = []
    for a in (4, 2, 3, 0, 25, -30):  # act 7, 9, 12, 12, 37, 7; grid 3 + 10 Z
        s, state = int_step(state, torch.tensor([a]), p)
        sent.append(int(s))
    # 7 -> 3 (7 - 3 = 4 rounds down), 9 -> 13 (half up from 6), 12 -> 13, 37 -> 33, 7 -> 3
    assert sent == [0, 10, 0, 0, 20, -30]
    act, residue = int(state[1]), int(state[2])
    assert act - (3 + sum(sent)) == residue == 4


def test_delta_step_is_memoryless():
    """What was sent is a function of the activation alone: any path to the same activation
    leaves the same sent sum (the grid point), within half a threshold of it."""
    g = torch.Generator().manual_seed(0)
    vth = 16
    for _ in range(20):
        p = _identity_params(vth, origin=100)
        state = (torch.tensor([100]), torch.tensor([100]), torch.tensor([0]), torch.tensor([0]))
        total = 100
        moves = torch.randint(-40, 41, (30,), generator=g)
        for a in moves:
            if not 0 <= int(state[0]) + int(a) <= 1000:
                continue
            s, state = int_step(state, a.reshape(1), p)
            total += int(s)
        act = int(state[1])
        assert total == 100 + ((act - 100 + vth // 2) // vth) * vth
        assert abs(act - total) <= vth // 2


def test_delta_step_at_threshold_one_sends_every_change():
    p = _identity_params(1)
    state = (torch.tensor([0]), torch.tensor([0]), torch.tensor([0]), torch.tensor([0]))
    sent = []
    for a in (7, 2, 3, 0, 25):
        s, state = int_step(state, torch.tensor([a]), p)
        sent.append(int(s))
    assert sent == [7, 2, 3, 0, 25]


def _ramp_params(**kw) -> DeltaParams:
    """One neuron, threshold 1, the identity table over 0..1000."""
    return DeltaParams(
        bias=torch.tensor([0]),
        vth=torch.tensor([1]),
        lo=torch.tensor(0),
        shift=torch.tensor(0),
        table=torch.arange(0, 1001),
        **kw,
    )


def test_fine_group_sums_enter_exactly_with_a_remainder():
    p = _ramp_params()
    state = (torch.tensor([0]), torch.tensor([0]), torch.tensor([0]), torch.tensor([0]))
    for _ in range(10):  # 10 x 100/256: floor per step would give 0; exactly it is 3 rem 232
        _, state = int_step(state, (torch.tensor([0]), torch.tensor([100])), p)
    assert int(state[0]) == 3 and int(state[3]) == 1000 - 3 * 256


def test_wide_sums_enter_sigma_through_a_k_bit_remainder():
    p = _ramp_params(sum_shift=torch.tensor([12]))
    state = (torch.tensor([0]), torch.tensor([0]), torch.tensor([0]), torch.tensor([0]))
    for _ in range(10):  # (3 << 8) + 100 = 868 fine units a step: 8,680 = 2 * 4096 + 488
        _, state = int_step(state, (torch.tensor([3]), torch.tensor([100])), p)
    assert int(state[0]) == 2 and int(state[3]) == 488


def test_formats_keep_every_row_its_own_exponent():
    from exporters.sigma_delta.intnet import ACT_BITS, SIGMA_BITS, row_exponents

    model = _mlp(nn.Tanh())
    x = _points()
    net = convert_sigma_delta(model, x)
    for payload, groups in ((24, 1), (24, 2), (16, 2)):
        inet = quantize_delta(net, weight_groups=groups, payload_bits=payload)
        ws = [la.weight.numpy() for la in net.layers] + [net.out_weight.numpy()]
        for e, w in zip(row_exponents(inet), ws, strict=True):
            assert (e == weight_rows(w)).all()  # the whole 8-bit mantissa, whatever sigma holds
        assert inet.in_bits == min(ACT_BITS, payload - 3)
        assert inet.layers[0].act_bits == (ACT_BITS if payload == 24 else 13)
        for la in inet.layers:  # sigma holds 1.25x the pre-activation range in 24 bits
            zmax = max(abs(v) for v in _z_range(net, la.name)) * 1.25
            assert (zmax * 2.0**la.sigma_exp < 2**SIGMA_BITS).all() and (la.sum_shift >= 8).all()


def _z_range(net, name: str) -> tuple[float, float]:
    return next(la.z_range for la in net.layers if la.name == name)


def test_relu_step_drops_the_low_bits_as_lava_0_10_does():
    p = DeltaParams(bias=torch.tensor([0]), vth=torch.tensor([64]), state_exp=6)
    state = (torch.tensor([0]), torch.tensor([0]), torch.tensor([0]))
    s, state = relu_int_step(state, torch.tensor([100]), p)
    assert int(s) == 1 and int(state[2]) == 0  # 100 >> 6 = 1: 36 lost, residue 0


def test_float_network_equals_the_ann_as_thresholds_vanish():
    model = _mlp(nn.Tanh())
    x = _points()
    net = convert_sigma_delta(model, x, vth=1e-9)
    y, msgs = run_float(net, x[None])
    with torch.no_grad():
        assert torch.allclose(y[0], model(x), atol=1e-7)
    assert float(msgs[1].sum()) <= x.shape[0] * 16  # at most one message per neuron


@pytest.mark.parametrize("act", [nn.Tanh(), nn.SiLU(), nn.Softplus(beta=2.0), nn.GELU()])
def test_deployed_network_tracks_the_ann(act):
    model = _mlp(act)
    x = _points()
    net = convert_sigma_delta(model, x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        inet = quantize_delta(net, weight_groups=2, payload_bits=24)
    r = run_static(inet, x)
    with torch.no_grad():
        ya = model(x)
    assert float((r.y - ya).norm() / ya.norm()) < 2e-3
    assert r.steps == 1  # a feed-forward chain settles in one (unpipelined) step


def test_stream_skips_repeated_frames_and_equals_static_at_the_end():
    model = _mlp(nn.Tanh())
    x = _points(64)
    inet = quantize_delta(convert_sigma_delta(model, _points()), payload_bits=24)
    frames = torch.stack([x * 0.5, x * 0.5, x])
    r = run_stream(inet, frames)
    assert r.steps == 2 and r.frames == 3
    s = run_static(inet, x)
    assert torch.equal(r.y[-1], s.y)  # same point through another path: the same integers


def test_a_stream_is_memoryless_at_any_thresholds():
    """Each neuron sends its activation rounded to its grid, so a stream's output at every
    frame is the static output of that frame, bit for bit, whatever came before."""
    model = _mlp(nn.Tanh())
    inet = quantize_delta(convert_sigma_delta(model, _points()), payload_bits=24)
    g = torch.Generator().manual_seed(5)
    base = _points(16, seed=2)
    frames = torch.stack([base + 0.05 * torch.randn(base.shape, generator=g) for _ in range(12)])
    frames = frames.double().clamp(-1, 1)
    for vth, in_vth in (([1, 1], [1, 1]), ([8, 64], [1, 1]), ([3, 32], [4, 16])):
        net = inet.with_vth(vth, in_vth)
        r = run_stream(net, frames)
        for k in range(frames.shape[0]):
            assert torch.equal(r.y[k], run_static(net, frames[k]).y), (vth, in_vth, k)


def test_encoder_steps_round_the_input_and_are_checked():
    inet = quantize_delta(convert_sigma_delta(_mlp(nn.Tanh()), _points()), payload_bits=24)
    net = inet.with_vth(1, [1, 8])
    codes = net.encode(_points(32).double())
    assert (codes[:, 1] % 8 == 0).all()
    assert torch.equal(codes[:, 0], inet.encode(_points(32).double())[:, 0])
    with pytest.raises(ValueError, match="in_vth needs one integer step >= 1 per input"):
        inet.with_vth(1, [1, 0])
    with pytest.raises(ValueError, match="in_vth needs one integer step"):
        inet.with_vth(1, [1])
    with pytest.raises(ValueError, match="must stay below the encoder's range"):
        inet.with_vth(1, [1, 1 << inet.in_bits])


@pytest.mark.parametrize(
    "frames, match",
    [
        (torch.zeros(3, 4, 3), "2 input components"),
        (torch.zeros(4, 2), r"\(frames, lanes, 2\)"),
        (torch.full((2, 3, 2), float("nan")), "frame 0 holds NaN"),
    ],
)
def test_stream_bad_frames(frames, match):
    inet = quantize_delta(convert_sigma_delta(_mlp(nn.Tanh()), _points()))
    with pytest.raises(ValueError, match=match):
        run_stream(inet, frames.double())


def test_weight_groups_rebuild_the_weights():
    w = torch.randn(8, 5, generator=torch.Generator().manual_seed(3), dtype=torch.float64).numpy()
    e = weight_rows(w)
    for g, tol in ((1, 2.0), (2, 2.0 / 256)):
        syn = quantize_weights(w, e, g)
        back = sum(m.astype(float) * 2.0**x for m, x in syn.groups) * 2.0 ** -e[:, None]
        assert np.abs(back - w).max() <= tol * 2.0 ** -e.min()
        # QAT trains on the same grid the exporter deploys
        fq = fake_quant_rows(torch.from_numpy(w), g).numpy()
        assert np.abs(fq - back).max() < 1e-12


def test_bad_conversion_and_quantization_inputs():
    model = _mlp(nn.Tanh())
    with pytest.raises(ValueError, match="rate-coded"):
        convert_sigma_delta(model, _points(), neuron="if")
    with pytest.raises(ValueError, match="vth must be a fraction"):
        convert_sigma_delta(model, _points(), vth=2.0)
    net = convert_sigma_delta(model, _points())
    with pytest.raises(ValueError, match="payload_bits must be one of"):
        quantize_delta(net, payload_bits=12)
    with pytest.raises(ValueError, match="weight_groups"):
        quantize_delta(net, weight_groups=3)
    with pytest.raises(ValueError, match="does not fit a 16-bit payload"):
        quantize_delta(net, payload_bits=16, vth=[40000, 1])


def test_a_spinn_is_refused_with_the_axis_by_axis_route_that_works():
    from lava_pinn.models import SPINNConfig, combine_grid

    torch.manual_seed(0)
    spinn = SPINNConfig(axes=2, out_features=1, widths=(8, 8), rank=3).build().double()
    x = torch.rand(64, 2, dtype=torch.float64)
    with pytest.raises(TypeError, match="axis by axis"):
        convert_sigma_delta(spinn, x)
    axes = [torch.linspace(0, 1, 5, dtype=torch.float64), torch.linspace(0, 1, 7)]
    feats = []
    for i, a in enumerate(axes):
        inet = quantize_delta(convert_sigma_delta(spinn.axis_nets[i], x[:, i : i + 1]))
        feats.append(run_static(inet, a.double()[:, None]).y.reshape(-1, 3, 1))
    with torch.no_grad():
        ref = spinn.grid([a.double() for a in axes])
    y = combine_grid(feats)
    assert y.shape == ref.shape == (5, 7, 1)
    assert float((y - ref).abs().max()) < 0.01 * float(ref.abs().max())  # thresholds 1e-3


def test_thresholds_meet_the_budget_or_say_the_best_error():
    model = _mlp(nn.Tanh())
    x = _points()
    inet = quantize_delta(convert_sigma_delta(model, x), payload_bits=24)
    with torch.no_grad():
        ya = model(x)
    ev = static_evaluator(x, ya, None, run_static)
    ch = choose_thresholds(inet, ev, 0.01)
    assert ch.error <= 0.01 and min(ch.vth) >= 1 and max(ch.vth) > 1
    fine = ev(inet)[1]
    assert ch.messages <= fine
    # a stream's frames: the worst frame within the budget, the streamed input coarsened too
    frames = torch.stack([x[:128] * c for c in (0.5, 0.75, 1.0)]).double()
    with torch.no_grad():
        fa = torch.stack([model(f.to(x.dtype)).double() for f in frames])
    fe = frame_evaluator(frames, fa, None, run_static)
    chs = choose_thresholds(inet, fe, 0.01, inputs=[1])
    assert chs.error <= 0.01 and chs.in_vth[0] == 1 and chs.in_vth[1] > 1
    assert fe(chs.net)[0] == chs.error
    with pytest.raises(ValueError, match=r"inputs \[5\] are not input features"):
        choose_thresholds(inet, fe, 0.01, inputs=[5])
    with pytest.raises(BudgetError, match="best|reaches") as e:
        choose_thresholds(quantize_delta(convert_sigma_delta(model, x), weight_groups=1), ev, 1e-9)
    assert e.value.best > 1e-9


def test_qat_reduces_the_one_group_error():
    model = _mlp(nn.Tanh(), seed=4)
    x = _points(1024)
    net = convert_sigma_delta(model, x)
    with torch.no_grad():
        ya = model(x)
    before = run_static(quantize_delta(net, weight_groups=1, vth=[1, 1]), x)
    q = finetune_quantized(net, x, weight_groups=1, steps=300, lr=1e-3, seed=0)
    after = run_static(quantize_delta(q, weight_groups=1, vth=[1, 1]), x)
    e0 = float((before.y - ya).norm() / ya.norm())
    e1 = float((after.y - ya).norm() / ya.norm())
    assert e1 < 0.7 * e0


@pytest.mark.usefixtures("one_torch_thread")
def test_qat_pde_term_needs_a_problem_and_lowers_the_residual():
    from lava_pinn.problems import get_problem

    prob = get_problem("navier-stokes-tg")
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Linear(16, 3)).double()
    x = prob.domain.sample(512, torch.Generator().manual_seed(1))
    net = convert_sigma_delta(model, x)
    with pytest.raises(ValueError, match="pde_weight > 0 needs problem"):
        finetune_quantized(net, x, steps=2, pde_weight=1.0)  # no problem given

    def residual(n):
        xp = prob.domain.sample(256, torch.Generator().manual_seed(2)).requires_grad_(True)
        return float(sum(r.pow(2).mean() for r in prob.residual(xp, n.ann(xp)).values()))

    kw = {"weight_groups": 2, "steps": 40, "lr": 1e-2, "seed": 0, "problem": prob, "batch": 128}
    plain = finetune_quantized(net, x, **kw)
    pde = finetune_quantized(net, x, pde_weight=10.0, **kw)
    assert pde.metadata["qat"]["pde_weight"] == 10.0
    assert residual(pde) < 0.5 * residual(plain)  # the ANN itself is untrained here


def test_hardware_run_streams_a_delta_network_and_refuses_rate_networks():
    import hardware

    inet = quantize_delta(convert_sigma_delta(_mlp(nn.Tanh()), _points()), payload_bits=24)
    frames = torch.stack([_points(8) * s for s in (0.2, 0.4, 0.4, 0.6)])
    res = hardware.run(inet, frames, "torch-twin", stream=True)
    assert res.y.shape == (4, 8, 2) and res.stream
    assert res.synops_per_point()["binary"] == 0 and res.messages_per_point > 0
    stat = hardware.run(inet, _points(8), "torch-twin")
    assert stat.y.shape == (8, 2)
    with pytest.raises(ValueError, match="cannot stream; the neuron models that stream are"):
        hardware.run("no-such-network.h5", frames, "torch-twin", stream=True)


def test_delta_ops_price_each_weight_group_as_its_own_dense():
    from hardware.delta import delta_energy, delta_ops, static_steps

    x = _points(32)
    inet = quantize_delta(convert_sigma_delta(_mlp(nn.Tanh()), _points()), payload_bits=24)
    r = run_static(inet, x)
    ops = delta_ops(inet, r, steps=static_steps(inet))
    names = [la.name for la in ops.layers]
    assert len(names) == 2 * (len(inet.layers) + 1) and names[1].endswith("/group2")
    assert sum(la.synops for la in ops.layers) == pytest.approx(r.synops_per_point())
    est = {e.profile: e for e in delta_energy(inet, ops)}
    # cmos-45nm: a graded op with 8-bit weights, 24-bit payloads and an A-bit accumulator is
    # 3.1 pJ * 8 * 24 / 1024 + 0.1 pJ * A / 32 (A >= 24: 0.65625 pJ at 24); neurons and
    # spikes cost 0 there
    acc = [max(24, b) for i, syn in enumerate([*(la.synapses for la in inet.layers),
           inet.output]) for b in syn.sum_bits(inet.message_max()[i])]  # fmt: skip
    assert [la.acc_bits for la in ops.layers] == acc and max(acc) > 24
    want = sum(
        la.synops * (3.1 * 8 * 24 / 1024 + 0.1 * a / 32)
        for la, a in zip(ops.layers, acc, strict=True)
    )
    assert est["cmos-45nm"].snn_total_pj == pytest.approx(want)
    assert est["loihi2-upper"].snn_total_pj > est["loihi2-lower"].snn_total_pj


def test_sum_bits_and_message_max_bound_what_a_run_sends():
    """Closed form: ``max_r sum_j |W_rj| m_j`` in bits with the sign (2042 -> 12 bits; a
    group with exponent 2 needs 2 more); every message of a run stays within message_max."""
    from exporters.sigma_delta.intnet import Synapses

    w = np.array([[2, -4], [254, -256]])
    syn = Synapses(((w, 0), (w, 2)))
    assert syn.sum_bits(np.array([3, 5])) == (12, 14)
    with pytest.raises(ValueError, match=r"message_max must have shape \(2,\)"):
        syn.sum_bits(np.array([1, 2, 3]))
    inet = quantize_delta(convert_sigma_delta(_mlp(nn.Tanh()), _points()), payload_bits=24)
    frames = torch.stack([_points(16) * s for s in (1.0, -1.0, 0.5)])
    r = run_stream(inet, frames)
    for n, pay, bound in zip(r.messages, r.payload_abs, inet.message_max(), strict=True):
        n, pay = n.sum(0).numpy(), pay.sum(0).numpy()  # per sender over lanes
        assert (pay <= n * bound).all() and pay.max() > 0
    for la, bound in zip(inet.layers, inet.message_max()[1:], strict=True):
        sigma = torch.linspace(-(2**23 - 1), 2**23 - 1, 4097, dtype=torch.float64)
        act = la.act(sigma.to(torch.int64)[:, None].expand(-1, la.n_out)).numpy()
        assert (act.max(0) - act.min(0) + la.vth <= bound).all()
