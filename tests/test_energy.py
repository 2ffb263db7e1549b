"""Energy estimator: exact hand-computed numbers on a 2-3-1 network, profiles, validation."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import REPO

from hardware.activity import ANNSpec, LayerSpec, SNNActivity
from hardware.energy import (
    ProfilerUnavailable,
    available_profiles,
    count_operations,
    estimate_energy,
    get_profile,
    load_profile,
    loihi2_profiler_status,
    measure_loihi2,
    profile_from_dict,
    register_profile,
)
from hardware.energy.profiles import EnergyProfile

# 2-3-1: W1 has one zero (column fan-outs 3 and 2: 5 synapses), W2 = [1, 0, 1].
W1 = np.array([[1.0, 0.5], [0.2, 0.0], [-0.3, 0.7]])
W2 = np.array([[0.4, 0.0, -0.6]])
COUNTS = np.array([2.0, 5.0, 4.0])  # hidden spikes, summed over 2 samples x 4 steps
N, T = 2, 4


def tiny(neuron: str = "if") -> SNNActivity:
    return SNNActivity.from_arrays([W1, W2], neuron, [COUNTS, None], n_samples=N, T=T)


def test_counts_match_hand_calculation():
    ops = count_operations(tiny())
    l1, l2 = ops.layers
    # layer 1: analog input, nnz(W1) = 5 MACs per step
    assert l1.effective_macs == 5 * T and l1.effective_acs == 0
    assert l1.dense == 2 * 3 * T
    assert l1.neuron_updates == 3 * T
    assert l1.spikes == 11 / N == l1.active_updates
    assert l1.firing_rate == pytest.approx(11 / (N * T * 3))
    # layer 2: spikes x fan-out: (2*1 + 5*0 + 4*1) / 2 samples = 3 ACs per inference
    assert l2.effective_acs == 3.0 and l2.effective_macs == 0
    assert l2.dense == 3 * 1 * T
    assert l2.neuron_updates == T and l2.spikes == 0
    assert ops.activation_sparsity == pytest.approx(1 - 11 / (3 * T * N))
    d = ops.to_dict()["synaptic_operations"]
    assert d == {"Effective_MACs": 20.0, "Effective_ACs": 3.0, "Dense": 36.0}


def test_held_analog_current_counts_macs_once():
    ops = count_operations(tiny(), analog_every_step=False)
    assert ops.layers[0].effective_macs == 5.0


def test_loihi_energy_exact():
    rep = estimate_energy(tiny(), profiles=["loihi"], hops_per_spike=1.0)
    e = rep.estimate_for("loihi")
    l1, l2 = e.snn_layers
    assert l1.synaptic_pj == pytest.approx(20 * 23.6)
    assert l1.neuron_pj == pytest.approx((12 - 5.5) * 52 + 5.5 * 81)
    assert l1.spike_pj == pytest.approx(5.5 * (1.7 + 3.5))
    assert l2.synaptic_pj == pytest.approx(3 * 23.6)
    assert l2.neuron_pj == pytest.approx(4 * 52)
    assert l2.spike_pj == 0.0  # the output layer does not spike
    assert e.snn_total_pj == pytest.approx(1562.9)
    assert e.snn_total_j == pytest.approx(1562.9e-12)
    assert e.kind == "pre-silicon" and "Davies" in e.source
    # Loihi defines no ANN cost: the ANN baseline is priced with cmos-45nm, and says so
    assert e.ann_profile == "cmos-45nm" and e.ann_kind == "estimated"
    assert e.ann_total_pj == pytest.approx(9 * 4.6)  # dense 2-3-1 ANN: 6 + 3 MACs
    assert dict(e.constants)["snn.synaptic_op"] == 23.6


def test_cmos_energy_exact_and_ann_from_weights():
    ann = ANNSpec.from_weights([W1, W2])
    assert ann.macs == 7 and ann.dense_macs == 9 and ann.activations == 3
    rep = estimate_energy(tiny(), ann, profiles=["cmos-45nm"], hops_per_spike=2.0)
    e = rep.estimate_for("cmos-45nm")
    assert e.snn_total_pj == pytest.approx(20 * 4.6 + 3 * 0.9)  # MACs x 4.6 + ACs x 0.9
    assert e.ann_total_pj == pytest.approx(7 * 4.6)
    assert e.ratio_ann_over_snn == pytest.approx(7 * 4.6 / 94.7)


def test_loihi2_is_labelled_assumed_and_static_share():
    rep = estimate_energy(tiny(), profiles=["loihi2"], seconds_per_inference=1e-3)
    e = rep.estimate_for("loihi2")
    assert e.kind == "assumed"
    prof = get_profile("loihi2")
    assert "no per-operation" in prof.notes.lower() or "no per-operation" in prof.source.lower()
    assert e.static_pj == pytest.approx(0.23 * 1e-3 * 1e12)
    assert e.snn_total_pj == pytest.approx(1562.9)  # static share reported apart


def test_default_report_has_all_profiles_and_assumptions():
    rep = estimate_energy(tiny(), errors={"u": 0.05}, label="x^2, T=4")
    assert [e.profile for e in rep.estimates] == ["loihi2", "loihi", "cmos-45nm"]
    assert dict(rep.errors) == {"u": 0.05}
    assert any("hop" in a for a in rep.assumptions)
    with pytest.raises(KeyError, match="loihi2, loihi, cmos-45nm"):
        rep.estimate_for("truenorth")


def test_signed_spike_arrays_are_summed_as_events():
    spikes = np.zeros((N, T, 3))
    spikes[0, 0, 0] = 1
    spikes[1, 2, 0] = -1
    act = SNNActivity.from_arrays([W1, W2], "signed-if", [spikes, None], n_samples=N, T=T)
    assert act.spike_counts[0].tolist() == [2.0, 0.0, 0.0]


def test_unknown_profile_lists_available():
    with pytest.raises(KeyError) as err:
        get_profile("truenorth")
    for name in ("cmos-45nm", "loihi", "loihi2"):
        assert name in str(err.value)
    assert set(available_profiles()) >= {"cmos-45nm", "loihi", "loihi2"}


GOOD = """
name = "{name}"
kind = "estimated"
source = "my measurements"
notes = "test"
[snn]
synaptic_op = {syn}
analog_mac = 1.0
neuron_update = 0.5
neuron_update_active = 0.5
spike = 0.1
tile_hop = 0.0
"""


def test_profile_file_missing_field_names_file_and_field(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text(GOOD.format(name="bad", syn=1.0).replace("spike = 0.1\n", ""))
    with pytest.raises(ValueError) as err:
        load_profile(p)
    assert str(p) in str(err.value) and "snn.spike" in str(err.value)


def test_profile_file_negative_constant_names_field(tmp_path):
    p = tmp_path / "neg.toml"
    p.write_text(GOOD.format(name="neg", syn=-1.0))
    with pytest.raises(ValueError, match="snn.synaptic_op") as err:
        load_profile(p)
    assert str(p) in str(err.value)


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda d: d.pop("source"), "source"),
        (lambda d: d.update(kind="guess"), "kind"),
        (lambda d: d["snn"].update(typo=1.0), "snn.typo"),
        (lambda d: d.update(ann={"mac": 1.0}), "ann.activation"),
        (lambda d: d["snn"].update(spike="1 pJ"), "snn.spike"),
    ],
)
def test_profile_dict_validation(edit, field):
    import tomli

    d = tomli.loads(GOOD.format(name="x", syn=1.0))
    edit(d)
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        profile_from_dict(d, "x.toml")


def test_register_user_profile_and_reject_duplicate(tmp_path):
    p = tmp_path / "mychip.toml"
    p.write_text(GOOD.format(name="mychip-test", syn=2.0))
    prof = register_profile(p)
    assert get_profile("mychip-test") is prof and prof.path == str(p)
    with pytest.raises(ValueError, match="already registered"):
        register_profile(p)
    rep = estimate_energy(tiny(), profiles=[prof])
    e = rep.estimates[0]
    # no [ann] table: ANN priced with cmos-45nm
    assert e.ann_profile == "cmos-45nm"
    assert e.snn_layers[1].synaptic_pj == pytest.approx(3 * 2.0)


def test_builtin_profile_files_validate():
    for name in ("loihi", "loihi2", "cmos-45nm"):
        prof = get_profile(name)
        assert isinstance(prof, EnergyProfile) and prof.source
    assert get_profile("loihi").synaptic_op == 23.6
    assert get_profile("loihi").neuron_update == 52.0
    assert get_profile("loihi").neuron_update_active == 81.0
    assert get_profile("cmos-45nm").ann_mac == 4.6


def test_activity_validation():
    with pytest.raises(ValueError, match="chain"):
        SNNActivity.from_arrays([W1, np.ones((1, 4))], "if", [COUNTS, None], n_samples=N, T=T)
    with pytest.raises(ValueError, match="at most once per step"):
        SNNActivity.from_arrays([W1, W2], "if", [COUNTS * 10, None], n_samples=N, T=T)
    layers = tiny().layers
    with pytest.raises(ValueError, match="non-negative"):
        SNNActivity(layers, (-COUNTS, None), n_samples=N, T=T)
    with pytest.raises(ValueError, match="shape"):
        SNNActivity(layers, (COUNTS[:2], None), n_samples=N, T=T)
    with pytest.raises(ValueError, match="neuron"):
        LayerSpec("h", 2, 3, neuron="relu")
    with pytest.raises(ValueError, match="n_samples"):
        SNNActivity.from_arrays([W1, W2], "if", [COUNTS, None], n_samples=0, T=T)
    with pytest.raises(ValueError, match="missing"):
        SNNActivity.from_arrays([W1, W2], "if", [None, None], n_samples=N, T=T)
    with pytest.raises(ValueError, match="ANNSpec.widths"):
        ANNSpec((3,))


def test_measured_path_reports_why_it_is_unavailable():
    ok, reason = loihi2_profiler_status()
    if ok:  # pragma: no cover - only with lava-loihi and a board
        pytest.skip("lava-loihi is installed here; the unavailable path cannot be exercised")
    assert "lava-loihi" in reason or "Lava" in reason
    with pytest.raises(ProfilerUnavailable, match="lava"):
        measure_loihi2(lambda pre, post: None, num_steps=8)


def test_hardware_imports_without_lava_or_matplotlib():
    code = """
    import sys

    class Block:
        def find_spec(self, name, path=None, target=None):
            if name == "lava" or name.startswith("lava."):
                raise ImportError(f"blocked import of {name}")
            return None

    sys.meta_path.insert(0, Block())
    import hardware, hardware.activity, hardware.energy, hardware.resources
    import hardware.reports, hardware.plots
    from hardware.energy import loihi2_profiler_status
    ok, reason = loihi2_profiler_status()
    assert not ok and "Lava is not importable" in reason, reason
    bad = sorted(m for m in sys.modules if m.split(".")[0] in ("lava", "matplotlib"))
    print("LEAKED", bad)
    """
    res = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert "LEAKED []" in res.stdout
    assert res.stderr == ""


def test_activity_dict_round_trip():
    import json

    act = tiny("signed-if")
    back = SNNActivity.from_dict(json.loads(json.dumps(act.to_dict())))
    assert back.layers[0].fan_out.tolist() == [3.0, 2.0]
    assert back.spike_counts[0].tolist() == COUNTS.tolist() and back.spike_counts[1] is None
    assert count_operations(back).to_dict() == count_operations(act).to_dict()
    with pytest.raises(ValueError, match="missing field 'T'"):
        SNNActivity.from_dict({k: v for k, v in act.to_dict().items() if k != "T"})


def test_int8_ann_priced_beside_fp32():
    """cmos-45nm prices the ANN in FP32 (4.6 pJ/MAC) and INT8 (0.2 + 0.03 pJ/MAC, Horowitz)."""
    prof = get_profile("cmos-45nm")
    assert prof.ann_mac == 4.6 and prof.ann_int8_mac == pytest.approx(0.23)
    assert "INT8 add 0.03 pJ" in prof.source and "INT8 mult 0.2 pJ" in prof.source
    rep = estimate_energy(tiny(), ANNSpec((2, 3, 1)), ["loihi", "cmos-45nm"])
    for e in rep.estimates:
        assert e.ann_profile == "cmos-45nm" and e.ann_int8_profile == "cmos-45nm"
        assert e.ann_int8_total_pj == pytest.approx(9 * 0.23)
        assert e.snn_over_ann == pytest.approx(e.snn_total_pj / e.ann_total_pj)
        assert e.snn_over_ann_int8 == pytest.approx(e.snn_total_pj / (9 * 0.23))
        assert e.ratio_ann_int8_over_snn == pytest.approx(1 / e.snn_over_ann_int8)


def test_verdict_says_plainly_who_loses():
    from hardware.energy.estimate import _fmt_times, _times

    assert _fmt_times(122.4) == "122" and _fmt_times(2440.0) == "2,440"
    assert _fmt_times(2.444) == "2.44" and _fmt_times(3.2e6) == "3.2e+06"
    assert _times(122.4, "FP32") == "costs 122x the FP32 ANN"
    assert _times(0.25, "INT8") == "costs 0.25x the INT8 ANN"  # one way either side of 1
    assert _times(0.000446, "FP32") == "costs 0.000446x the FP32 ANN"
    e = estimate_energy(tiny(), ANNSpec((2, 3, 1)), ["cmos-45nm"]).estimates[0]
    assert e.verdict.startswith("SNN costs ") and e.verdict.count("costs") == 1
    assert "x the FP32 ANN, " in e.verdict and e.verdict.endswith("x the INT8 ANN")


def test_profile_without_int8_has_no_int8_baseline():
    """A profile's own [ann] without [ann_int8], and an ANN profile without it: INT8 is None."""
    data = {
        "name": "fp-only",
        "kind": "assumed",
        "source": "test",
        "snn": dict.fromkeys(
            (
                "synaptic_op",
                "analog_mac",
                "neuron_update",
                "neuron_update_active",
                "spike",
                "tile_hop",
            ),
            1.0,
        ),  # fmt: skip
        "ann": {"mac": 1.0, "activation": 0.0},
    }
    prof = profile_from_dict(data)
    e = estimate_energy(tiny(), ANNSpec((2, 3, 1)), [prof], ann_profile=prof).estimates[0]
    assert e.ann_int8_total_pj is None and e.snn_over_ann_int8 is None
    assert "INT8" not in e.verdict and e.to_dict()["ann_int8_layers"] is None
    with pytest.raises(ValueError, match="ann_int8"):
        profile_from_dict({**data, "ann_int8": {"mac": 0.2}})


def test_energy_benchmark_takes_exports_conversion_options():
    """benchmarks/energy.py parses --method etc. with export.py's own options, not a copy."""
    import argparse

    sys.path.insert(0, str(REPO))
    from benchmarks import energy as bench
    from benchmarks import export

    p = argparse.ArgumentParser()
    defaults = bench.add_conversion_options(p)
    assert defaults == export.CONVERSION_DEFAULTS
    assert set(defaults) == {
        "method",
        "cal_points",
        "cal_boundary",
        "weight_groups",
        "quant_search",
    }
    args = p.parse_args([])
    assert bench.resolve_conversion(args, defaults) is False  # nothing given: the old defaults
    assert args.method == "pwl/if/advanced" and args.weight_groups == 1
    args = p.parse_args(["--method", "pwl:24:0.75/graded-if/none", "--weight-groups", "2",
                         "--quant-search", "off", "--cal-boundary", "0.25"])  # fmt: skip
    assert bench.resolve_conversion(args, defaults) is True
    assert (args.weight_groups, args.quant_search, args.cal_boundary) == (2, "off", 0.25)
    with pytest.raises(SystemExit):
        p.parse_args(["--weight-groups", "3"])  # export's choices


def test_energy_benchmark_merge_keeps_other_rows():
    sys.path.insert(0, str(REPO))
    from benchmarks import energy as bench

    disk = {"problem": "p", "points": 128, "lava_points": 16,
            "runs": [{"T": 32}, {"T": 64}]}  # fmt: skip
    new = {"problem": "p", "points": 256, "lava_points": 4,
           "runs": [{"T": 64, "method": "m", "command": "c"}]}  # fmt: skip
    out = bench.merge(disk, new)
    assert [(r["method"], r["T"]) for r in out["runs"]] == [
        ("default", 32), ("default", 64), ("m", 64)]  # fmt: skip
    assert out["runs"][0]["command"] == bench.LEGACY_COMMAND and out["runs"][0]["points"] == 128
    assert out["points"] == 128  # the file-level key keeps its first meaning
    again = bench.merge(out, {**new, "runs": [{"T": 64, "method": "m", "command": "c2"}]})
    assert len(again["runs"]) == 3 and again["runs"][-1]["command"] == "c2"
