"""``python -m hardware.app``: the ``lava-pinn`` command."""

import sys

from hardware.app.cli import main

sys.exit(main())
