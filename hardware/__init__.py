"""Where converted networks run and what they cost: activity records, energy estimates, the
Loihi 2 resource check and reports.

Run an exported network anywhere and price what it did::

    import hardware
    hardware.available()                       # {backend: None if it works here, else why not}
    res = hardware.run("runs/ns/network.h5", x, backend="lava-cpu")   # -> RunResult
    from hardware.costing import energy_report
    print(energy_report(res).estimate_for("loihi").snn_total_pj)

Backends (:mod:`hardware.backends`): ``torch-float``, ``torch-twin``, ``lava-cpu`` (default),
``lava-cpu-float``, ``loihi2``. Subcommands ``lava-pinn run`` / ``lava-pinn energy`` live in
:mod:`hardware.app.run_cli`.

Lower level, once a backend has counted spikes (``counts[k]``: spikes per neuron of layer ``k``
summed over samples and steps, ``None`` for the non-spiking output layer)::

    from hardware.activity import SNNActivity
    from hardware.energy import estimate_energy
    from hardware import reports
    from hardware.resources import check_network

    act = SNNActivity.from_arrays(weights, "if", counts, n_samples=n, T=T, source="torch")
    rep = estimate_energy(act, errors={"u": 0.043}, label="x^2, T=32")
    print(reports.to_markdown(rep))        # also to_json, to_csv, to_latex, write_all
    check_network(int_weights, weight_bits=8, neurons="lif-hard")  # warns what cannot fit

Nothing here imports Lava at import time; Lava (and matplotlib) are imported inside the functions
that need them. Nothing imports ``hardware``: it sits on top of :mod:`lava_pinn` and
:mod:`exporters`.
"""

_LAZY = {
    "run": "hardware.runner",
    "RunResult": "hardware.runner",
    "load_network": "hardware.runner",
    "available": "hardware.backends",
    "BACKENDS": "hardware.backends",
    "BackendUnavailable": "hardware.backends",
    "energy_report": "hardware.costing",
}

__all__ = list(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hardware' has no attribute {name!r}")
