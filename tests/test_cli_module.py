"""`python -m lava_pinn.cli` (the Makefile's form) sees the plugin subcommands too."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO


def test_python_dash_m_lists_plugin_commands():
    r = subprocess.run(
        [sys.executable, "-m", "lava_pinn.cli", "--help"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    for cmd in ("pipeline", "export", "run", "energy", "report", "convert", "train"):
        assert cmd in r.stdout, cmd
