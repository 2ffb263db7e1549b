"""Where converted networks run and what they cost: activity records, energy estimates, the
Loihi 2 resource check and reports.

Nothing here imports Lava at import time; Lava (and matplotlib) are imported inside the functions
that need them. Nothing imports ``hardware``: it sits on top of :mod:`lava_pinn` and
:mod:`exporters`.
"""
