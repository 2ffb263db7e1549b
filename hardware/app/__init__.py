"""The application layer: what the ``lava-pinn`` command does, on top of every package.

* :mod:`hardware.app.rundir`: the run directory (fixed artifact names, ``run.json``);
* :mod:`hardware.app.stages`: the stages (checkpoint, convert, export, run, energy), each a
  function of a run directory and a frozen options dataclass;
* :mod:`hardware.app.pipeline`: every stage in order (:func:`~hardware.app.pipeline.run_pipeline`);
  :mod:`hardware.app.figures` and :mod:`hardware.app.summary`: its figures and report;
* :mod:`hardware.app.cli` and the ``*_cli`` modules: the subcommands, whose flags come from
  the stages' option dataclasses (:mod:`lava_pinn.options`).
"""
