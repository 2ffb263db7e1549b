"""Layer-wise calibration re-simulates only the tail of the chain; that must change nothing.

The guard of a step at layer ``l`` reuses the kept spike train of layer ``l - 1``
(:func:`lava_pinn.conversion.network.simulate_from`). Reference: the same steps guarded by full
simulations. Plans, logs and errors must agree exactly (``==``).
"""

from __future__ import annotations

import pytest
import torch

from lava_pinn.conversion import calibration as cal
from lava_pinn.conversion.network import simulate_factored, simulate_from
from lava_pinn.conversion.representations import AnnLayer, ann_forward, direct, pwl


def _reference(plan, ctx, steps):
    err, counts = ctx.error(plan)
    for l in range(len(plan.layers)):
        for name, fn in steps:
            plan, err, counts, _ = cal._guarded(
                f"{name}[{l}]", plan, ctx, err, counts, lambda p, c, fn=fn, l=l: fn(p, c, l, ctx)
            )
    return plan


def _problem(seed: int, widths: list[int]):
    g = torch.Generator().manual_seed(seed)
    ann, n_in = [], widths[0]
    for w in widths[1:-1]:
        ann.append(
            AnnLayer(
                torch.randn(w, n_in, generator=g, dtype=torch.float64) / n_in**0.5,
                0.1 * torch.randn(w, generator=g, dtype=torch.float64),
                "tanh",
            )
        )
        n_in = w
    W_out = torch.randn(widths[-1], n_in, generator=g, dtype=torch.float64) / n_in**0.5
    b_out = torch.zeros(widths[-1], dtype=torch.float64)
    x = torch.rand(96, widths[0], generator=g, dtype=torch.float64) * 2 - 1
    _, hs = ann_forward(ann, x)
    return ann, W_out, b_out, x, hs[-1] @ W_out.T + b_out


STEPS = [
    ("weight", cal.weight_step),
    ("potential", lambda p, c, l, ctx: cal.potential_step(p, c, l)),
    ("decoder", lambda p, c, l, ctx: cal.decoder_step(p, c, l, ctx.ridge)),
    ("light", lambda p, c, l, ctx: cal.light_step(p, c, l)),
]


@pytest.mark.parametrize("rep", ["pwl", "direct"])
@pytest.mark.parametrize("widths", [[2, 8, 1], [3, 10, 12, 9, 2]])
def test_incremental_guard_equals_full_runs(rep: str, widths: list[int]) -> None:
    ann, W_out, b_out, x, y = _problem(len(widths) + len(rep), widths)
    if rep == "pwl":
        plan = pwl(ann, W_out, b_out, x, 12, neuron="if", pieces=3)
    else:
        plan = direct(
            ann,
            W_out,
            b_out,
            x,
            12,
            neuron="signed-if",
            threshold="max",
            per_neuron=False,
            threshold_options={},
        )
    logs = []
    results = []
    for run in (cal._per_layer, _reference):
        torch.manual_seed(0)
        ctx = cal.CalibrationContext(x, y, steps=15, log=[])
        results.append(run(plan.copy(), ctx, STEPS))
        logs.append(ctx.log)
    assert logs[0] == logs[1]
    assert any(r["kept"] for r in logs[0]) and not all(r["kept"] for r in logs[0])
    a, b = results
    for la, lb in zip(a.layers, b.layers, strict=True):
        for f in ("U", "c", "threshold", "v0", "E", "e"):
            assert torch.equal(getattr(la, f), getattr(lb, f)), f
    assert torch.equal(a.W_out, b.W_out) and torch.equal(a.b_out, b.b_out)


def test_simulate_from_matches_a_full_run() -> None:
    g = torch.Generator().manual_seed(3)
    sizes = [3, 7, 6, 5]
    factors = [
        (torch.randn(sizes[i + 1], sizes[i], generator=g, dtype=torch.float64),) for i in range(3)
    ]
    biases = [0.2 * torch.rand(s, generator=g, dtype=torch.float64) for s in sizes[1:]]
    th = [torch.full((s,), 0.7, dtype=torch.float64) for s in sizes[1:]]
    v0 = [t / 2 for t in th]
    neurons = ["if", "signed-if", "if"]
    x = torch.rand(40, 3, generator=g, dtype=torch.float64)
    r, counts = simulate_factored(factors, biases, neurons, th, v0, x, 10)
    _, _, train1 = simulate_from(factors, biases, neurons, th, v0, x, 10, record=1)
    r2, tail, train2 = simulate_from(
        factors, biases, neurons, th, v0, x, 10, start=2, inputs=train1, record=2
    )
    assert tail[0] is None and tail[1] is None
    assert torch.equal(r, r2) and torch.equal(counts[2], tail[2])
    assert torch.equal(train1.sum(0).double(), counts[1])
    assert torch.equal(train2.sum(0).double(), counts[2])
    with pytest.raises(ValueError, match="spike train"):
        simulate_from(factors, biases, neurons, th, v0, x, 10, start=1)
    with pytest.raises(ValueError, match="start"):
        simulate_from(factors, biases, neurons, th, v0, x, 10, start=3)


def test_chunked_simulation_equals_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """Points are simulated in chunks (allocator-friendly); a chunk boundary changes nothing.
    Dyadic weights, currents and thresholds make every sum exact in any order, so the runs must
    agree with ``==`` whatever the matmul kernel does with different batch sizes."""
    from lava_pinn.conversion import network

    g = torch.Generator().manual_seed(4)
    sizes = [3, 9, 8, 5]
    factors = [
        (torch.randint(-8, 9, (sizes[i + 1], sizes[i]), generator=g).double() / 8,)
        for i in range(3)
    ]
    biases = [torch.randint(-4, 5, (s,), generator=g).double() / 16 for s in sizes[1:]]
    th = [torch.full((s,), 0.75, dtype=torch.float64) for s in sizes[1:]]
    v0 = [t / 2 for t in th]
    neurons = ["if", "graded-if", "signed-if"]
    x = torch.randint(-16, 17, (203, 3), generator=g).double() / 16
    ev_one: list = []
    one = simulate_from(factors, biases, neurons, th, v0, x, 12, record=1, events=ev_one)
    monkeypatch.setattr(network, "SIM_CHUNK_ELEMENTS", 9 * 64)  # 64-point chunks
    assert network.sim_chunk(9) == 64
    ev_ch: list = []
    ch = simulate_from(factors, biases, neurons, th, v0, x, 12, record=1, events=ev_ch)
    assert torch.equal(one[0], ch[0]) and torch.equal(one[2], ch[2])
    for a, b in zip(one[1] + ev_one, ch[1] + ev_ch, strict=True):
        assert torch.equal(a, b)
    tail = simulate_from(factors, biases, neurons, th, v0, x, 12, start=2, inputs=ch[2])
    assert torch.equal(tail[1][2], one[1][2])
