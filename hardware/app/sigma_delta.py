"""The sigma-delta deployment job (``lava-pinn sigma-delta``, ``make demo``): a pretrained PINN
converted to one sigma-delta neuron per unit, quantized, thresholds chosen against an error
budget, evaluated by the integer twin and by Lava's ``fixed_pt`` simulator (``==``), streamed
over time frames, and priced beside the ANN.

Writes ``OUT/sigma_delta.json`` (every figure below), ``OUT/report.md`` and, when it streams,
``OUT/figures/streaming.png`` / ``.pdf``.
"""

from __future__ import annotations

import json
import logging
import math
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeltaJob:
    """What the job does (defaults: the demo's settings)."""

    problem: str = "navier-stokes-tg"
    weight_groups: int = 2
    payload_bits: int = 24
    budget: float = 1.2
    qat_steps: int = 0
    points: int = 20000
    lava_points: int = 256
    calibration_points: int = 4096
    stream_grid: int = 21
    stream_frames: tuple[int, ...] = (101, 1001, 10001)
    # None: thresholds and the streamed input's encoder step chosen against ``budget`` at every
    # checked frame; an int: that threshold (payload units) in every layer
    stream_vth: int | None = None
    stream_check_frames: int = 101
    # each sweep's error is checked at every frame up to this many frames, else at this many
    # evenly spaced ones (every ceil(K / n)-th frame)
    stream_verify_frames: int = 2001
    seed: int = 7

    def __post_init__(self) -> None:
        from lava_pinn.validation import check_count

        for f in ("points", "calibration_points", "stream_grid"):
            check_count(getattr(self, f), f"DeltaJob.{f}", 2)
        check_count(self.lava_points, "DeltaJob.lava_points", 0)
        check_count(self.qat_steps, "DeltaJob.qat_steps", 0)
        if self.stream_vth is not None:
            check_count(self.stream_vth, "DeltaJob.stream_vth", 1)
        check_count(self.stream_check_frames, "DeltaJob.stream_check_frames", 2)
        check_count(self.stream_verify_frames, "DeltaJob.stream_verify_frames", 2)
        if self.weight_groups not in (1, 2):
            raise ValueError(f"DeltaJob.weight_groups must be 1 or 2, got {self.weight_groups!r}")
        if not self.budget >= 1.0:
            raise ValueError(
                f"DeltaJob.budget is a factor on the ANN's error (>= 1), got {self.budget!r}"
            )
        frames = tuple(int(k) for k in self.stream_frames)
        if any(k < 2 for k in frames):
            raise ValueError(f"DeltaJob.stream_frames must be >= 2 each, got {frames}")
        object.__setattr__(self, "stream_frames", frames)


def _resources(inet) -> dict:
    from hardware.delta import delta_resources

    rep = delta_resources(inet)
    return {
        "fits": bool(rep.fits),
        "cores": int(rep.cores),
        "chips": int(rep.chips),
        "requirements": list(rep.requirements),
    }


def _errors(y: torch.Tensor, ref: torch.Tensor, names) -> dict[str, float]:
    return {
        n: float((y[:, k] - ref[:, k]).norm() / ref[:, k].norm().clamp(min=1e-30))
        for k, n in enumerate(names)
    }


def run_job(job: DeltaJob, out: Path) -> dict:
    """Run ``job``, write its files under ``out``; returns the JSON record."""
    from exporters.sigma_delta import quantize_delta, run_static
    from exporters.sigma_delta.lava_graph import run_lava_static
    from exporters.sigma_delta.thresholds import choose_thresholds, static_evaluator
    from hardware.delta import delta_energy, delta_ops, static_steps
    from hardware.reports import delta_energy_table
    from lava_pinn.checkpoint import load_pretrained
    from lava_pinn.conversion.convert import default_calibration_points
    from lava_pinn.problems import get_problem
    from lava_pinn.sigma_delta import convert_sigma_delta

    t_all = time.monotonic()
    ck = load_pretrained(job.problem)
    prob = get_problem(ck.problem, **ck.problem_params)
    exact = prob.exact if prob.has_exact else None
    names = list(prob.outputs)

    def finish(x, y):
        return prob.apply_hard_bc(x, y) if ck.hard_bc else y

    model = ck.model.double().eval()
    xc = default_calibration_points(ck.problem, ck.problem_params, job.calibration_points, 1, 0.1)
    net = convert_sigma_delta(ck, xc)
    rec: dict = {"job": asdict(job), "problem": ck.problem, "model": ck.config.describe()}
    first = None
    if job.qat_steps:
        from exporters.sigma_delta.intnet import quantize_delta as q0
        from lava_pinn.sigma_delta.qat import deployed_exponents, finetune_quantized

        t0 = time.monotonic()
        first = q0(net, weight_groups=job.weight_groups, payload_bits=job.payload_bits)
        net = finetune_quantized(
            net,
            xc,
            weight_groups=job.weight_groups,
            act_bits=[la.act_bits for la in first.layers],
            exponents=deployed_exponents(first),
            steps=job.qat_steps,
        )
        rec["qat_seconds"] = time.monotonic() - t0
    inet = quantize_delta(
        net, weight_groups=job.weight_groups, payload_bits=job.payload_bits, grid_of=first
    )
    xt = threshold_points(prob, job.calibration_points, job.seed + 1)
    with torch.no_grad():
        ann_t = model(xt)
    ref_t = exact(xt) if exact is not None else None

    run_fin = _finished_run(run_static, finish)
    t0 = time.monotonic()
    # half the budget's slack on the threshold points: thresholds chosen there must hold on
    # points they never saw
    target = 1.0 + (job.budget - 1.0) / 2
    choice = choose_thresholds(
        inet, static_evaluator(xt, finish(xt, ann_t), ref_t, run_fin), target
    )
    rec["thresholds"] = {**choice.to_dict(), "seconds": time.monotonic() - t0}
    inet = choice.net

    gen = torch.Generator().manual_seed(job.seed)
    x = prob.domain.sample(job.points, gen)
    with torch.no_grad():
        ann = finish(x, model(x))
    t0 = time.monotonic()
    r = run_static(inet, x)
    twin_s = time.monotonic() - t0
    y = finish(x, r.y)
    ref = exact(x) if exact is not None else ann
    steps = static_steps(inet)
    ops = delta_ops(inet, r, steps=steps)
    est = delta_energy(inet, ops)
    widths = [inet.in_features, *(la.n_out for la in inet.layers), inet.out_features]
    macs = sum(a * b for a, b in zip(widths, widths[1:], strict=False))
    rec["static"] = {
        "points": job.points,
        "reference": "exact" if exact is not None else "ANN",
        "ann_error": _errors(ann, ref, names),
        "snn_error": _errors(y, ref, names),
        "snn_vs_ann": _errors(y, ann, names),
        "messages_per_point": r.messages_per_point(),
        "synops_per_point": r.synops_per_point(),
        "ann_macs": macs,
        "synops_over_macs": r.synops_per_point() / macs,
        "neurons": inet.neurons,
        "synapses": inet.synapses,
        "steps_to_settle": steps,
        "loihi2": _resources(inet),
        "twin_seconds": twin_s,
        "energy": [e.to_dict() for e in est],
    }
    if job.lava_points:
        t0 = time.monotonic()
        xl = x[: job.lava_points]
        lr = run_lava_static(inet, xl)
        rt = run_static(inet, xl)
        same = torch.equal(lr.acc, rt.acc) and all(
            torch.equal(a, b) for a, b in zip(lr.messages, rt.messages, strict=True)
        )
        rec["lava"] = {
            "points": int(xl.shape[0]),
            "equal_to_twin": bool(same),
            "seconds": time.monotonic() - t0,
            "snn_error": _errors(finish(xl, lr.y), ref[: xl.shape[0]], names),
            "ann_error": _errors(ann[: xl.shape[0]], ref[: xl.shape[0]], names),
        }
        if not same:
            raise RuntimeError("Lava fixed_pt and the twin differ on the sigma-delta network")
    if "t" in prob.inputs and job.stream_frames:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # one step is a few small tensors: threads only contend
        try:
            snet, rec["stream_thresholds"] = stream_thresholds(job, prob, model, inet, finish)
            rec["stream"] = stream_sweep(job, prob, model, snet, finish, names)
        finally:
            torch.set_num_threads(threads)
    rec["seconds"] = time.monotonic() - t_all
    out.mkdir(parents=True, exist_ok=True)
    from lava_pinn.checkpoint import atomic_write_bytes

    atomic_write_bytes(out / "sigma_delta.json", json.dumps(rec, indent=1, default=float).encode())
    md = report_md(rec, delta_energy_table(est, label=f"{ck.problem}, sigma-delta, static"))
    atomic_write_bytes(out / "report.md", md.encode())
    if "stream" in rec:
        _plot_stream(rec["stream"], out / "figures")
    return rec


def threshold_points(prob, n: int, seed: int) -> torch.Tensor:
    """``n`` points drawn uniformly from ``prob``'s domain (seeded) on which thresholds are
    chosen: drawn as the evaluation points are, so the error there predicts the error on them
    (the calibration points, a tenth of them on the boundary, weigh the boundary where the
    ANN's error is largest and so let thresholds overshoot inside)."""
    return prob.domain.sample(n, torch.Generator().manual_seed(seed))


def _finished_run(run, finish):
    """``run(net, x)`` with the problem's output map ``finish(x, y)`` applied to ``y``."""
    from dataclasses import replace

    def run_fin(net, x):
        r = run(net, x)
        return replace(r, y=finish(x, r.y))

    return run_fin


def _grid_frames(job: DeltaJob, prob, times: torch.Tensor) -> torch.Tensor:
    """The stream's lanes (a ``stream_grid`` grid over the space inputs) at ``times``:
    ``(len(times), lanes, n_in)``."""
    ti = prob.inputs.index("t")
    axes = prob.domain.linspace(tuple(job.stream_grid for _ in prob.inputs))
    space = [a for k, a in enumerate(axes) if k != ti]
    mesh = torch.stack(torch.meshgrid(*space, indexing="ij"), -1).reshape(-1, len(space))
    f = torch.empty(len(times), mesh.shape[0], len(prob.inputs), dtype=torch.float64)
    f[..., [k for k in range(len(prob.inputs)) if k != ti]] = mesh
    f[..., ti] = times[:, None]
    return f


def stream_thresholds(job: DeltaJob, prob, model, inet, finish) -> tuple[object, dict]:
    """The network the stream runs, and a record of how its thresholds were set.

    ``job.stream_vth`` given: that threshold in every layer. Otherwise the coarsest per-layer
    thresholds and encoder step of ``t`` whose worst error ratio to the ANN (fields other than
    gauge fields) over ``stream_check_frames`` frames of the grid stays within half the
    budget's slack, ``1 + (job.budget - 1) / 2`` (:func:`~exporters.sigma_delta.thresholds.
    frame_evaluator`: a ``sigma-delta`` network is memoryless, so a frame's static output is
    the stream's), so that the frames between the checked ones stay within ``job.budget``;
    when even the finest thresholds miss that, the finest, with a warning naming the error
    reached."""
    from exporters.sigma_delta import run_static
    from exporters.sigma_delta.thresholds import BudgetError, choose_thresholds, frame_evaluator

    if job.stream_vth is not None:
        return inet.with_vth(job.stream_vth), {"vth": [job.stream_vth] * len(inet.layers)}
    ti = prob.inputs.index("t")
    lo, hi = prob.domain.low[ti], prob.domain.high[ti]
    frames = _grid_frames(job, prob, torch.linspace(lo, hi, job.stream_check_frames).double())
    x = frames.reshape(-1, frames.shape[-1])
    with torch.no_grad():
        ann = finish(x, model(x)).reshape(frames.shape[0], frames.shape[1], -1)
    ref = prob.exact(x).reshape(ann.shape) if prob.has_exact else None
    fields = [k for k, n in enumerate(prob.outputs) if n not in prob.gauge_fields]

    run = _finished_run(run_static, finish)
    target = 1.0 + (job.budget - 1.0) / 2
    t0 = time.monotonic()
    try:
        choice = choose_thresholds(
            inet, frame_evaluator(frames, ann, ref, run, fields), target, inputs=[ti]
        )
    except BudgetError as e:
        warnings.warn(
            f"stream: no thresholds keep every checked frame within {target:.3g}x the ANN's "
            f"error (the finest reach {e.best:.3f}x); streaming at the finest",
            stacklevel=2,
        )
        return inet.with_vth(1), {
            "vth": [1] * len(inet.layers),
            "budget": target,
            "budget_met": False,
            "error": e.best,
            "check_frames": job.stream_check_frames,
        }
    return choice.net, {
        **choice.to_dict(),
        "budget_met": True,
        "check_frames": job.stream_check_frames,
        "seconds": time.monotonic() - t0,
    }


def stream_sweep(job: DeltaJob, prob, model, inet, finish, names) -> dict:
    """The solution field on a grid at successive times, one lane per grid point, no reset.

    Per frame count ``K`` of ``job.stream_frames``: total messages and synaptic ops of the
    sweep, per point-frame, energy per point-frame under the delta profiles beside the ANN's
    per frame, and the worst ratio over checked frames (every frame up to
    ``job.stream_verify_frames`` frames, else every ``ceil(K / stream_verify_frames)``-th) of the
    SNN's error to the ANN's at that frame (fields other than gauge fields), with the time of
    the worst frame."""
    from exporters.sigma_delta.twin import run_stream_chunks
    from hardware.delta import delta_energy, delta_ops

    ti = prob.inputs.index("t")
    lo, hi = prob.domain.low[ti], prob.domain.high[ti]
    rows = []
    for K in job.stream_frames:
        t = torch.linspace(lo, hi, K, dtype=torch.float64)
        every = -(-K // job.stream_verify_frames)
        record = list(range(0, K, every))

        def frames_at(ks, t=t):
            return _grid_frames(job, prob, t[ks])

        chunks = (frames_at(torch.arange(a, min(a + 1000, K))) for a in range(0, K, 1000))
        t0 = time.monotonic()
        r = run_stream_chunks(inet, chunks, record=record)
        secs = time.monotonic() - t0
        worst, t_worst = _worst_frame(r.y, record, frames_at, model, prob, finish, names)
        ops = delta_ops(inet, r, steps=1, per=r.lanes * K)
        est = {e.profile: e for e in delta_energy(inet, ops)}
        e45 = est["cmos-45nm"]
        rows.append(
            {
                "frames": K,
                "lanes": r.lanes,
                "active_steps": r.steps,
                "messages_total": float(sum(m.sum() for m in r.messages)),
                "synops_total": float(sum(s.sum() for s in r.synops)),
                "messages_per_point_frame": float(sum(m.sum() for m in r.messages)) / (r.lanes * K),
                "synops_per_point_frame": float(sum(s.sum() for s in r.synops)) / (r.lanes * K),
                "energy_nj_per_point_frame": {p: e.snn_total_pj / 1e3 for p, e in est.items()},
                "ann_fp32_nj": e45.ann_total_pj / 1e3,
                "ann_int8_nj": (e45.ann_int8_total_pj or math.nan) / 1e3,
                "worst_frame_error_over_ann": worst,
                "worst_frame_t": t_worst,
                "frames_checked": len(record),
                "seconds": secs,
            }
        )
    lanes = _grid_frames(job, prob, torch.zeros(1, dtype=torch.float64)).shape[1]
    return {"grid": job.stream_grid, "lanes": int(lanes), "rows": rows}


def _worst_frame(y, record, frames_at, model, prob, finish, names) -> tuple[float, float]:
    """``(worst ratio, its t)`` over the recorded frames ``record`` (outputs ``y``
    ``(len(record), lanes, n_out)``) of the SNN's error to the ANN's at that frame, per field
    (gauge fields left out), 1,000 frames at a time."""
    cols = [c for c, n in enumerate(names) if n not in prob.gauge_fields]
    ti = prob.inputs.index("t")
    worst, t_worst = 0.0, math.nan
    for lo in range(0, len(record), 1000):
        ks = torch.tensor(record[lo : lo + 1000])
        xk = frames_at(ks)  # (F, lanes, n_in)
        x = xk.reshape(-1, xk.shape[-1])
        with torch.no_grad():
            ann = finish(x, model(x)).reshape(*xk.shape[:2], -1)[..., cols]
        ref = prob.exact(x).reshape(ann.shape[:2] + (-1,))[..., cols] if prob.has_exact else ann
        ys = finish(x, y[lo : lo + len(ks)].reshape(x.shape[0], -1)).reshape(ann.shape[:2] + (-1,))
        a = (ann - ref).norm(dim=1)
        s = (ys[..., cols] - ref).norm(dim=1)
        ratio = torch.where(a > 0, s / a.clamp(min=1e-300), torch.zeros_like(s)).amax(1)
        j = int(ratio.argmax())
        if float(ratio[j]) > worst:
            worst, t_worst = float(ratio[j]), float(xk[j, 0, ti])
    return worst, t_worst


def _plot_stream(stream: dict, out: Path) -> None:
    """``out/streaming.png`` and ``.pdf`` (:func:`hardware.plots.plot_streaming`, full width)."""
    from hardware.figstyle import FigStyle
    from hardware.plots import plot_streaming

    plot_streaming(stream, out / "streaming", style=FigStyle("full"))


def _pct(v: float) -> str:
    return f"{100 * v:.3g}%"


def report_md(rec: dict, energy_table: str) -> str:
    s = rec["static"]
    lines = [
        f"# {rec['problem']}: sigma-delta network ({rec['model']})",
        "",
        f"Deployed integers, {s['points']:,} points, errors vs the {s['reference']} solution.",
        "",
        "| field | ANN | SNN (twin) | SNN / ANN |",
        "|---|--:|--:|--:|",
    ]
    for k, a in s["ann_error"].items():
        v = s["snn_error"][k]
        lines.append(f"| {k} | {_pct(a)} | {_pct(v)} | {v / a:.3g} |")
    lines += [
        "",
        f"Cost per point: {s['messages_per_point']:.1f} messages, {s['synops_per_point']:,.0f} "
        f"synaptic ops ({s['synops_over_macs']:.2f}x the ANN's {s['ann_macs']:,} MACs), "
        f"{s['neurons']} neurons, {s['synapses']:,} synapses, settles in {s['steps_to_settle']} "
        "steps.",
        f"Thresholds (payload units per layer) {rec['thresholds']['vth']}: the coarsest within "
        f"{rec['job']['budget']}x the ANN's error ({rec['thresholds']['budget']:.3g}x on "
        f"{rec['job']['calibration_points']:,} other uniform domain points).",
    ]
    lo = s["loihi2"]
    micro = [r for r in lo["requirements"] if "microcode" in r]
    need = (
        f"{len(micro)} layers need custom microcode (the neuron is not built into Loihi 2; "
        "lava-loihi extension)"
        if micro
        else "no custom microcode"
    )
    lines.append(
        f"Loihi 2: {'fits' if lo['fits'] else 'does not fit'} ({lo['cores']} cores, "
        f"{lo['chips']} chip(s)); {need}."
    )
    if "lava" in rec:
        lv = rec["lava"]
        lerr = ", ".join(
            f"{k} {_pct(v)} ({v / lv['ann_error'][k]:.3g}x the ANN's there)"
            for k, v in lv["snn_error"].items()
        )
        lines.append(
            f"Lava fixed_pt on {lv['points']} of the points: equal to the twin: "
            f"{lv['equal_to_twin']}; its error there: {lerr}."
        )
    lines += ["", energy_table]
    if "stream" in rec:
        st = rec["stream"]
        th = rec.get("stream_thresholds", {})
        if "in_vth" in th:
            how = (
                f"chosen so every one of {th['check_frames']} checked frames stays within "
                f"{th['budget']:.3g}x the ANN's error, half the slack of the "
                f"{rec['job']['budget']}x budget ({th['error']:.3g}x reached)"
                if th.get("budget_met")
                else f"the finest: no thresholds meet {th['budget']:.3g}x at every checked frame "
                f"(the finest reach {th['error']:.3g}x)"
            )
            thr = (
                f"Thresholds {th['vth']} (payload units per layer), encoder steps "
                f"{th['in_vth']}: {how}. The network is memoryless (each neuron sends its "
                "activation rounded to its threshold grid), so a frame's output is the static "
                "output there."
            )
        else:
            thr = f"Thresholds {th.get('vth')} (payload units per layer), as given."
        lines += [
            "",
            f"## Streaming: {st['grid']}x{st['grid']} grid ({st['lanes']} lanes), t swept once",
            "",
            thr,
            "",
            "| frames | messages (total) | messages / point-frame | synops / point-frame | "
            "nJ / point-frame (cmos-45nm) | ANN FP32 / INT8 nJ | worst frame error / ANN |",
            "|--:|--:|--:|--:|--:|--:|--:|",
        ]
        for r in st["rows"]:
            lines.append(
                f"| {r['frames']:,} | {r['messages_total']:,.0f} | "
                f"{r['messages_per_point_frame']:.3g} | {r['synops_per_point_frame']:.3g} | "
                f"{r['energy_nj_per_point_frame']['cmos-45nm']:.3g} | "
                f"{r['ann_fp32_nj']:.3g} / {r['ann_int8_nj']:.3g} | "
                f"{r['worst_frame_error_over_ann']:.3g} ({r['frames_checked']:,} frames; "
                f"worst at t = {r['worst_frame_t']:.4g}) |"
            )
    return "\n".join(lines) + "\n"
