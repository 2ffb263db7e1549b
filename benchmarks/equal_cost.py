"""Binary spikes at equal cost: lava-pinn against the classic ANN-to-SNN conversion and the
paper's own method, error vs spikes per inference.

    .venv/bin/python benchmarks/equal_cost.py --networks relu-x2 relu-2d      # T 32..1024
    .venv/bin/python benchmarks/equal_cost.py --networks tanh-x2 --transfer   # + calibrate once
    .venv/bin/python benchmarks/equal_cost.py --networks zoo --fast           # T 32..128, cheaper
    .venv/bin/python benchmarks/equal_cost.py --networks relu-x2 --T 64 256 --methods direct/none

Networks (``--networks``; ``zoo`` = every pretrained zoo problem but ``regression-1d``):

* trained here with :func:`lava_pinn.training.train` (seeded, float64): ``relu-x2`` and
  ``sin-x2``, ``u = x^2`` on ``[-1, 1]`` (``regression-1d``), ``1-64x4-1`` ReLU / sin;
  ``relu-2d``, ``u = sin(pi x) sin(pi y)`` on ``[-1, 1]^2`` from a 41 x 41 grid
  (:class:`Regression2D`), ReLU ``2-64x3-1``;
* pretrained (``lava_pinn/pretrained``): ``tanh-x2`` (``regression-1d``, tanh ``1-64x4-1``) and
  every other zoo problem under its own name (tanh; ``heat-2d-separable`` is a SPINN).

The classic baseline (:func:`classic_convert`, :func:`classic_run`; ReLU networks only) is the
conversion of Diehl et al. 2015 / Rueckauer et al. 2017, written here from their equations and
independent of lava-pinn's converter: one IF neuron per unit, ReLU kept as it is, layer-wise
weight normalisation by ``lambda_l`` = the maximum (``classic-max``) or the 99.9th percentile
of the non-zero activations (``classic-p99.9``, Rueckauer's choice) of layer ``l`` on the
calibration points,

    W_l' = W_l lambda_{l-1} / lambda_l,   b_l' = b_l / lambda_l,   threshold 1,   v(0) = 0,

reset by subtraction, analog input to layer 1, output ``y = W_out lambda_L r_L + b_out`` (the
mean over ``T`` of the output current, as lava-pinn's integrating output). No calibration: the
same network runs at every ``T``. ``classic-max-half`` starts every neuron at ``v(0) = 1/2``
(rounding instead of truncating the rate, Bu et al. 2022), the strongest variant. On smooth
networks the reference is the paper's method as reimplemented here, ``direct/advanced``.

lava-pinn methods, binary ``if`` neurons only, ``REP/CAL``: ``direct`` (one neuron per unit,
ReLU exact, ``v(0) = V/2``), ``pwl`` (8 pieces per smooth unit, one per ReLU unit), ``pwl-s``
(``allocation="sensitivity"``, ``placement=0.5``), ``direct-clipped``, ``pwl-tol``.
``budget:REP/CAL`` is ``convert(..., spike_budget=N, budget_points=...)`` at every reference
row's spikes (each classic variant's on ReLU, ``direct/advanced``'s on smooth networks, and
10,000), spikes counted on 1024 seeded uniform domain points. ``--fast`` runs ``T`` 32, 64 and
128 and, on smooth networks, ``direct/none``, ``direct/advanced``, ``pwl-s/none`` and
``budget:pwl/light`` (light calibration: cheaper than advanced on the zoo's larger networks).
``--transfer`` adds ``once@64:REP/CAL``: converted and calibrated at ``T = 64`` once, then run
at every ``T`` (``SpikingNetwork.run(x, T)``).

Recorded per row: relative L2 of the SNN vs the exact solution and vs the ANN on 1024 seeded
reference points (worst output field), spikes per inference (all hidden neurons) and per layer,
synaptic operations per inference (every spike times the non-zero fan-out it drives, output
layer included), neurons, convert seconds. Written to ``docs/results/equal_cost.json`` (merged
by network and row unless ``--fresh``), ``equal_cost.md`` and ``figures/equal_cost_<net>.png``
(:mod:`benchmarks.equal_cost_report`).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings
from pathlib import Path
from types import MappingProxyType

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import torch  # noqa: E402
from torch import nn  # noqa: E402

import lava_pinn  # noqa: E402
from lava_pinn.checkpoint import atomic_write_bytes, load_pretrained  # noqa: E402
from lava_pinn.conversion.spinn import SpikingSPINN  # noqa: E402
from lava_pinn.models import MLPConfig  # noqa: E402
from lava_pinn.problems import get_problem  # noqa: E402
from lava_pinn.problems.base import Box, Problem, exact_conditions  # noqa: E402
from lava_pinn.training import TrainConfig, predict, train  # noqa: E402

RESULTS = REPO / "docs" / "results"
T_ALL = (32, 64, 128, 256, 512, 1024)
T_FAST = (32, 64, 128)
T_CAL = 64  # --transfer: the one T it calibrates at
CAL_POINTS = 1024
EVAL_POINTS = 1024
BUDGET_ANCHOR = 10_000  # a budget every smooth network is also converted within


class Regression2D(Problem):
    """``u(x, y) = sin(pi x) sin(pi y)`` on ``[-1, 1]^2`` from a 41 x 41 grid (data loss only)."""

    name = "regression-2d"
    inputs = ("x", "y")
    outputs = ("u",)
    description = "u = sin(pi x) sin(pi y) on [-1,1]^2, 41x41 samples, data loss only"
    train_defaults = MappingProxyType(
        {"adam_steps": 3000, "lr": 2e-3, "lbfgs_steps": 500, "n_collocation": 1, "n_boundary": 1}
    )

    @property
    def domain(self) -> Box:
        return Box((-1.0, -1.0), (1.0, 1.0))

    @property
    def has_pde(self) -> bool:
        return False

    def residual(self, x, u):
        return {}

    def conditions(self, n, generator):
        g = torch.linspace(-1.0, 1.0, 41, dtype=torch.float64)
        pts = torch.stack(torch.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)
        return [exact_conditions(self, pts, "data", "data")]

    def exact(self, x):
        return (torch.sin(math.pi * x[:, 0]) * torch.sin(math.pi * x[:, 1])).reshape(-1, 1)


ZOO = (
    "burgers-1d",
    "diffusion-reaction",
    "heat-2d-separable",
    "kovasznay",
    "navier-stokes-tg",
    "poisson-2d",
)
NETWORKS = {  # name: (problem, hidden widths or None for the pretrained checkpoint, activation)
    "relu-x2": ("regression-1d", (64, 64, 64, 64), "relu"),
    "relu-2d": ("regression-2d", (64, 64, 64), "relu"),
    "sin-x2": ("regression-1d", (64, 64, 64, 64), "sin"),
    "tanh-x2": ("regression-1d", None, "tanh"),
    **{p: (p, None, "tanh") for p in ZOO},
}
RELU_METHODS = (
    "classic-max",
    "classic-p99.9",
    "classic-max-half",
    "direct/none",
    "direct/advanced",
    "pwl/none",
    "budget:direct/advanced",
)
SMOOTH_METHODS = (
    "direct/none",
    "direct/advanced",
    "pwl/none",
    "pwl-s/none",
    "pwl-s/light",
    "budget:pwl/advanced",
)
FAST_SMOOTH_METHODS = (  # --fast: the zoo's larger networks
    "direct/none",
    "direct/advanced",
    "pwl-s/none",
    "budget:pwl/light",
)
TRANSFER_METHODS = {
    "relu": ("direct/none", "direct/advanced"),
    "smooth": ("direct/advanced", "pwl-s/none", "pwl-s/light"),
}
PAPERS = ("classic-max", "classic-p99.9")  # Diehl 2015, Rueckauer 2017
CLASSICS = (*PAPERS, "classic-max-half")
PAPER_SMOOTH = "direct/advanced"  # the seed paper's method on smooth networks
METHOD_OPTIONS = {
    "direct": {"representation": "direct"},
    "direct-clipped": {"representation": "direct", "fit": "clipped"},
    "pwl": {"representation": "pwl"},
    "pwl-s": {"representation": "pwl", "allocation": "sensitivity", "placement": 0.5},
    "pwl-tol": {"representation": "pwl", "pieces_tol": 0.01},
}


# ------------------------------------------------------------------------------ networks
def problem_of(name: str) -> Problem:
    return Regression2D() if name == "regression-2d" else get_problem(name)


def kind_of(net: str) -> str:
    return "relu" if NETWORKS[net][2] == "relu" else "smooth"


def trained_network(net: str, cache: Path) -> tuple[nn.Module, Problem, dict]:
    """The network ``net``: trained (seed 0, float64) and cached under ``cache``, or the
    pretrained checkpoint."""
    prob_name, widths, act = NETWORKS[net]
    problem = problem_of(prob_name)
    if widths is None:
        ck = load_pretrained(prob_name)
        info = {"source": f"pretrained {prob_name}, {ck.config.describe()}"}
        return ck.model.double().eval(), problem, info
    path = cache / f"{net}.pt"
    cfg = MLPConfig(problem.in_features, problem.out_features, widths, act)
    model = cfg.build().double()
    if path.is_file():
        model.load_state_dict(torch.load(path, weights_only=True))
        return model.eval(), problem, json.loads(path.with_suffix(".json").read_text())
    t0 = time.perf_counter()
    tc = TrainConfig.for_problem(problem, seed=0, dtype="float64")
    res = train(problem, cfg, tc, progress=False)
    info = {
        "source": f"trained here, {cfg.describe()}, seed 0",
        "train_s": time.perf_counter() - t0,
    }
    cache.mkdir(parents=True, exist_ok=True)
    torch.save(res.model.state_dict(), path)
    path.with_suffix(".json").write_text(json.dumps(info))
    return res.model.double().eval(), problem, info


def ann_size(model: nn.Module) -> dict:
    """The ANN's cost per inference: ``ann_macs`` (every Linear's ``in x out``; a SPINN's axis
    networks, one evaluation each) and ``ann_units`` (hidden activations evaluated)."""
    lins = [m for m in model.modules() if isinstance(m, nn.Linear)]
    last = {id(m[-1]) for m in model.modules() if isinstance(m, nn.Sequential) and len(m)}
    return {
        "ann_macs": sum(m.in_features * m.out_features for m in lins),
        "ann_units": sum(m.out_features for m in lins if id(m) not in last),
    }


def fill_ann_sizes(data: dict, cache: Path) -> None:
    """``ann_size`` of every recorded network that lacks it (rows recorded before it was)."""
    for net, info in data["networks"].items():
        if "ann_macs" not in info and net in NETWORKS:
            info.update(ann_size(trained_network(net, cache)[0]))


def calibration_points(problem: Problem, n: int = CAL_POINTS, seed: int = 0) -> torch.Tensor:
    """``n`` seeded points: three quarters uniform inside, a quarter on the boundary, corners
    first (the same recipe as a checkpoint's default calibration points)."""
    dom = problem.domain
    gen = torch.Generator().manual_seed(seed)
    n_b = n // 4
    corners = dom.corners()
    rest = n_b - corners.shape[0]
    parts = [
        dom.sample(n - n_b, gen),
        corners,
        dom.sample_boundary(rest, tuple(range(dom.dim)), gen),
    ]
    return torch.cat(parts).to(torch.float64)


def budget_points(problem: Problem, n: int = CAL_POINTS, seed: int = 2) -> torch.Tensor:
    """``n`` seeded uniform domain points: where ``budget:`` rows count their spikes (inputs
    spread as the evaluation's, unlike the boundary-heavy calibration set)."""
    return problem.domain.sample(n, torch.Generator().manual_seed(seed)).to(torch.float64)


def eval_points(problem: Problem, n: int = EVAL_POINTS, seed: int = 1):
    ref = problem.reference()
    idx = torch.randperm(ref.points.shape[0], generator=torch.Generator().manual_seed(seed))[:n]
    return ref.points[idx].to(torch.float64), ref.values[idx].to(torch.float64)


def linears(model: nn.Sequential) -> list[nn.Linear]:
    return [m for m in model if isinstance(m, nn.Linear)]


# ------------------------------------------------------------------------------ classic baseline
def classic_convert(model: nn.Sequential, x_cal: torch.Tensor, percentile: float | None) -> dict:
    """Diehl 2015 / Rueckauer 2017 weight normalisation of a ReLU MLP (module docstring):
    the normalised hidden weights and biases, ``lambda`` per layer, the output layer."""
    lins = linears(model)
    h = x_cal
    lam_prev = 1.0
    layers, lams = [], []
    with torch.no_grad():
        for lin in lins[:-1]:
            h = torch.relu(h @ lin.weight.T.double() + lin.bias.double())
            a = h[h > 0]
            lam = (
                float(a.max()) if percentile is None else float(torch.quantile(a, percentile / 100))
            )
            lam = lam if lam > 0 else 1.0
            layers.append((lin.weight.double() * lam_prev / lam, lin.bias.double() / lam))
            lams.append(lam)
            lam_prev = lam
    out = lins[-1]
    return {
        "layers": layers,
        "lambdas": lams,
        "out_w": out.weight.detach().double() * lam_prev,
        "out_b": out.bias.detach().double(),
    }


def classic_run(
    net: dict, x: torch.Tensor, T: int, v0: float = 0.0
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """IF neurons, threshold 1, reset by subtraction, ``v(0) = v0`` (0 in the papers):
    ``(y, spike counts)``."""
    n = x.shape[0]
    vs = [torch.full((n, w.shape[0]), v0, dtype=torch.float64) for w, _ in net["layers"]]
    counts = [torch.zeros_like(v) for v in vs]
    drive = x @ net["layers"][0][0].T + net["layers"][0][1]
    with torch.no_grad():
        for _ in range(T):
            s = None
            for i, (w, b) in enumerate(net["layers"]):
                vs[i] += drive if i == 0 else s @ w.T + b
                s = (vs[i] >= 1.0).double()
                vs[i] -= s
                counts[i] += s
    r = counts[-1] / T
    return r @ net["out_w"].T + net["out_b"], counts


def synops(counts: list[torch.Tensor], next_weights: list[torch.Tensor]) -> float:
    """Synaptic operations per inference: each spike of neuron ``i`` of layer ``l`` times the
    non-zero weights it drives in layer ``l + 1`` (the output layer for the last)."""
    total = 0.0
    for c, w in zip(counts, next_weights, strict=True):
        fan = (w != 0).sum(0).to(c.dtype)
        total += float((c @ fan).sum())
    return total / counts[0].shape[0]


# ------------------------------------------------------------------------------ one row
def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


def worst(a: torch.Tensor, b: torch.Tensor) -> float:
    """The largest relative L2 error over the output fields (columns)."""
    return max(rel(a[:, k], b[:, k]) for k in range(b.shape[1]))


def measure(snn, x: torch.Tensor) -> dict:
    """Outputs, spikes per inference (total and per hidden layer) and synaptic operations of a
    lava-pinn spiking MLP or SPINN on ``x`` (a SPINN's axis networks summed)."""
    nets = snn.axis_nets if isinstance(snn, SpikingSPINN) else [snn]
    cols = [x[:, i : i + 1] for i in range(x.shape[1])] if len(nets) > 1 else [x]
    spikes, syn, per_layer = 0.0, 0.0, None
    for net, xi in zip(nets, cols, strict=True):
        with torch.no_grad():
            _, counts = net.run(xi)
        layer = [float(c.sum()) / x.shape[0] for c in counts]
        per_layer = (
            layer if per_layer is None else [a + b for a, b in zip(per_layer, layer, strict=True)]
        )
        spikes += sum(layer)
        syn += synops(counts, [la.weight for la in net.hidden[1:]] + [net.output.weight])
    with torch.no_grad():
        y = snn(x)
    return {"y": y, "spikes": spikes, "layer_spikes": per_layer, "synops": syn}


def convert(model, method: str, x_cal, **kw):
    rep, cal = method.split("/")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lava_pinn.convert(
            model, x_cal, neuron="if", calibration=cal, **METHOD_OPTIONS[rep], **kw
        )


def run_method(model, method: str, T: int, data: dict, budget: float | None = None) -> dict:
    """One row at ``T`` (``budget:``: within ``budget`` spikes, ``T`` chosen)."""
    x_cal, x_ev, u_ev, y_ann = data["x_cal"], data["x_ev"], data["u_ev"], data["y_ann"]
    row: dict = {"method": method, "T": T}
    t0 = time.perf_counter()
    if method.startswith("classic"):
        name = method.removesuffix("-half")
        p = None if name == "classic-max" else float(name.removeprefix("classic-p"))
        net = classic_convert(model, x_cal, p)
        y, counts = classic_run(net, x_ev, T, 0.5 if method.endswith("-half") else 0.0)
        m = {
            "y": y,
            "spikes": float(sum(float(c.sum()) for c in counts) / x_ev.shape[0]),
            "layer_spikes": [float(c.sum()) / x_ev.shape[0] for c in counts],
            "synops": synops(counts, [w for w, _ in net["layers"][1:]] + [net["out_w"]]),
        }
        row.update(neurons=sum(w.shape[0] for w, _ in net["layers"]), lambdas=net["lambdas"])
    else:
        if method.startswith("budget:"):
            snn = convert(
                model,
                method.removeprefix("budget:"),
                x_cal,
                spike_budget=int(budget),
                budget_points=data["x_budget"],
            )
            row.update(spike_budget=int(budget), chosen_T=snn.T, pieces=snn.metadata["pieces"])
        else:
            snn = convert(model, method, x_cal, T=T)
        m = measure(snn, x_ev)
        row.update(neurons=int(snn.neurons), neurons_per_unit=snn.metadata.get("neurons_per_unit"))
    row.update(
        snn_vs_ref=worst(m["y"], u_ev),
        snn_vs_ann=worst(m["y"], y_ann),
        spikes=m["spikes"],
        layer_spikes=m["layer_spikes"],
        synops=m["synops"],
        seconds=time.perf_counter() - t0,
    )
    return row


def transfer_rows(model, method: str, Ts, data: dict) -> list[dict]:
    """``once@T_CAL:method``: converted at :data:`T_CAL` once, then run at every ``T``."""
    t0 = time.perf_counter()
    snn = convert(model, method, data["x_cal"], T=T_CAL)
    convert_s = time.perf_counter() - t0
    rows = []
    for T in Ts:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            other = snn.at_T(T)
        t1 = time.perf_counter()
        m = measure(other, data["x_ev"])
        rows.append(
            {
                "method": f"once@{T_CAL}:{method}",
                "T": T,
                "calibrated_T": T_CAL,
                "warned": any("calibrated for" in str(w.message) for w in caught),
                "snn_vs_ref": worst(m["y"], data["u_ev"]),
                "snn_vs_ann": worst(m["y"], data["y_ann"]),
                "spikes": m["spikes"],
                "layer_spikes": m["layer_spikes"],
                "synops": m["synops"],
                "neurons": int(other.neurons),
                "seconds": time.perf_counter() - t1,
                "convert_seconds": convert_s,
            }
        )
    return rows


def row_key(row: dict) -> str:
    if "spike_budget" in row:
        return f"{row['method']}@budget{row['spike_budget']}"
    return f"{row['method']}@T{row['T']}"


def budgets_for(net: str, rows: list[dict], Ts) -> list[tuple[int, float]]:
    """``(T, budget)``: the spikes of every reference row at ``Ts`` (each classic variant's on
    ReLU, the paper's on smooth networks), and :data:`BUDGET_ANCHOR` (``T = 0``) on smooth
    networks."""
    refs = CLASSICS if kind_of(net) == "relu" else (PAPER_SMOOTH,)
    out = sorted(
        {
            (r["T"], math.floor(r["spikes"]))
            for r in rows
            if r["network"] == net and r["method"] in refs and r["T"] in Ts
        }
    )
    if kind_of(net) == "smooth":
        out.append((0, BUDGET_ANCHOR))
    return out


def main(argv: list[str] | None = None) -> int:
    from benchmarks.equal_cost_report import write_report

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--networks", nargs="+", default=["relu-x2", "relu-2d"])
    ap.add_argument("--methods", nargs="+", default=None, help="default: per network kind")
    ap.add_argument("--T", nargs="+", type=int, default=list(T_ALL))
    ap.add_argument(
        "--fast",
        action="store_true",
        help=f"T {', '.join(map(str, T_FAST))} only; on smooth networks the cheaper methods",
    )
    ap.add_argument("--transfer", action="store_true", help=f"add once@{T_CAL}: rows")
    ap.add_argument("--only-transfer", action="store_true", help=f"only the once@{T_CAL}: rows")
    ap.add_argument("--fresh", action="store_true", help="drop the rows already recorded")
    ap.add_argument(
        "--report",
        action="store_true",
        help="run nothing: rewrite equal_cost.md (and the ANN sizes it prices) from the json",
    )
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/lava_pinn_equal_cost"))
    args = ap.parse_args(argv)
    nets = [n for name in args.networks for n in (ZOO if name == "zoo" else (name,))]
    bad = [n for n in nets if n not in NETWORKS]
    if bad:
        ap.error(f"unknown network(s) {bad}; known: zoo, {', '.join(NETWORKS)}")
    torch.set_num_threads(1)
    Ts = list(T_FAST) if args.fast else args.T
    jpath = args.out / "equal_cost.json"
    data = {"rows": [], "networks": {}, "commands": []}
    if jpath.is_file() and args.fresh:
        jpath.unlink()  # every row so far goes; runs started later merge into this one's
    if jpath.is_file():
        data = json.loads(jpath.read_text())
    if args.report:
        if not jpath.is_file():
            ap.error(f"--report: {jpath} does not exist yet; run a benchmark first")
        fill_ann_sizes(data, args.cache)
        atomic_write_bytes(jpath, json.dumps(data, indent=1).encode())
        write_report(data, args.out / "equal_cost.md")
        return 0
    cmd = ".venv/bin/python benchmarks/equal_cost.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    data["commands"].append(f"`{cmd.strip()}` ({stamp})")

    mine: dict = {}  # this run's rows by (network, key)

    def keep(row: dict, net: str) -> None:
        row["network"] = net
        key = row_key(row)
        mine[(net, key)] = row
        data["rows"] = [r for r in data["rows"] if (r["network"], row_key(r)) != (net, key)] + [row]
        T_txt = f"T={row.get('chosen_T', row['T'])}"
        print(
            f"{net} {key} {T_txt}: {100 * row['snn_vs_ref']:.2f}% vs exact, "
            f"{row['spikes']:.0f} spikes, {row['synops']:.0f} synops, {row['seconds']:.1f} s",
            flush=True,
        )

    for net in nets:
        model, problem, info = trained_network(net, args.cache)
        d = {"x_cal": calibration_points(problem), "x_budget": budget_points(problem)}
        d["x_ev"], d["u_ev"] = eval_points(problem)
        d["y_ann"] = predict(model, problem, d["x_ev"])
        data["networks"][net] = {
            **info,
            "ann_vs_ref": worst(d["y_ann"], d["u_ev"]),
            **ann_size(model),
        }
        smooth = FAST_SMOOTH_METHODS if args.fast else SMOOTH_METHODS
        methods = args.methods or (RELU_METHODS if kind_of(net) == "relu" else smooth)
        methods = () if args.only_transfer else methods
        for method in (m for m in methods if not m.startswith("budget:")):
            for T in Ts:
                keep(run_method(model, method, T, d), net)
        for method in (m for m in methods if m.startswith("budget:")):
            for T, budget in budgets_for(net, data["rows"], Ts):
                keep(run_method(model, method, T, d, budget), net)
        if args.transfer or args.only_transfer:
            for method in TRANSFER_METHODS[kind_of(net)]:
                for row in transfer_rows(model, method, Ts, d):
                    keep(row, net)
        data = save(jpath, data, mine)
        write_report(data, args.out / "equal_cost.md")
    return 0


def save(jpath: Path, data: dict, mine: dict) -> dict:
    """Write this run's rows (``mine``: by network and row key) over the file as it is now,
    so runs over different networks may go on side by side; returns what was written."""
    if jpath.is_file():
        disk = json.loads(jpath.read_text())
        rows = [r for r in disk["rows"] if (r["network"], row_key(r)) not in mine]
        cmds = disk["commands"] + [c for c in data["commands"] if c not in disk["commands"]]
        nets = {**disk["networks"], **data["networks"]}
        data = {"rows": rows + list(mine.values()), "networks": nets, "commands": cmds}
    jpath.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(jpath, json.dumps(data, indent=1).encode())
    return data


if __name__ == "__main__":
    raise SystemExit(main())
