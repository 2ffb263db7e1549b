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
