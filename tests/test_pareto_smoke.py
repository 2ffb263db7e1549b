"""Smoke test of benchmarks/pareto.py: one small problem, the sigma-delta rows, nothing written."""

from __future__ import annotations

from types import SimpleNamespace

import pytest


def test_pareto_poisson_sigma_delta_rows():
    pytest.importorskip("matplotlib")
    from benchmarks import pareto

    args = SimpleNamespace(
        problems=["poisson-2d"], points=512, ns_points=512, cal_points_sd=256, budget=1.2,
        seed=0, no_rate=True, methods=[], T=[], rate_opts={}, log=None,
    )  # fmt: skip
    data = pareto.run(args)
    (res,) = data["problems"]
    rows = [r for r in res["rows"] if r.get("errors")]
    assert len(rows) == 3  # two weight groupings of sigma-delta, and sigma-delta-relu
    assert [r["neuron"] for r in rows].count("sigma-delta-relu") == 1
    for r in rows:
        assert set(r["energy_pj"]) == set(pareto.PROFILES)
        assert r["messages"] > 0 and r["synops_graded"] > 0
        assert r["ann_int8_pj"] < r["ann_fp32_pj"]
    assert any(r["pareto"] for r in rows)
    assert "| representation |" in pareto.table(res)


def test_spinn_grid_costs_closed_form():
    from benchmarks.pareto_spinn import combine_macs, grid_weights

    assert grid_weights([41, 41, 41]) == [41 / 41**3] * 3
    # contract axis by axis: 41*41*16 products, then 41**3*16 multiply-adds, per 41**3 points
    assert combine_macs([41, 41, 41], 16, 1) == 16 * (41**2 + 41**3) / 41**3
    assert combine_macs([5], 4, 2) == 8.0  # one axis: the rank sum only
    assert combine_macs([3, 7], 2, 1) == 2.0


def test_pareto_spinn_rows_axis_by_axis_on_the_grid():
    """heat-2d-separable (a SPINN) gets every representation's row, priced per grid point."""
    pytest.importorskip("matplotlib")
    from benchmarks import pareto

    args = SimpleNamespace(
        problems=["heat-2d-separable"], points=512, ns_points=512, cal_points_sd=256,
        budget=1.2, seed=0, no_rate=False, methods=["direct/if/advanced"], T=[16],
        rate_opts={"cal_points": 64, "calibration_steps": 5, "quant_search": "off"}, log=None,
    )  # fmt: skip
    (res,) = pareto.run(args)["problems"]
    rows = res["rows"]
    assert [r.get("status") for r in rows] == ["ok"] * 4, [r.get("notes") for r in rows]
    assert res["eval_points"] == res["grid_points"] == 41**3
    # the axis ANN 1-32-32-32-16: 2,592 MACs, run 3 x 41 times for 41**3 points
    assert res["ann_macs"] == pytest.approx(3 * 41 * 2592 / 41**3)
    sd2 = rows[0]
    assert sd2["neuron"] == "sigma-delta" and sd2["weight_groups"] == 2
    assert sd2["error_over_ann"]["u"] <= 1.2  # thresholds chosen within the budget
    assert sd2["host_macs"] == pytest.approx(16 * (1 + 1 / 41))
    for r in rows:
        assert set(r["energy_pj"]) == set(pareto.PROFILES)
        assert r["messages"] > 0 and r["ann_int8_pj"] < r["ann_fp32_pj"]
    assert rows[2]["neuron"] == "sigma-delta-relu" and rows[2]["loihi_native"]
    assert rows[3]["kind"] == "rate" and rows[3]["synops_binary"] > 0
    assert "SPINN: 3 axis networks" in pareto.markdown(
        {"command": "x", "date": "d", "mode": "m", "budget": 1.2, "problems": [res]}
    )
