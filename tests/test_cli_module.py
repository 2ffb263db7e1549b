"""`python -m hardware.app.cli` (the Makefile's form) sees the plugin subcommands too."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO


def test_python_dash_m_lists_plugin_commands():
    r = subprocess.run(
        [sys.executable, "-m", "hardware.app.cli", "--help"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    for cmd in ("pipeline", "export", "run", "energy", "report", "convert", "train"):
        assert cmd in r.stdout, cmd


def test_sigterm_is_handled_like_ctrl_c():
    """A terminated run ends through the KeyboardInterrupt path (workers stopped), exit 130."""
    code = (
        "import os, signal, time\n"
        "from hardware.app import cli\n"
        "def run(args):\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    time.sleep(30)\n"
        "    return 0\n"
        "cli.register_command('sleepy', 'test', lambda p: None, run)\n"
        "before = signal.getsignal(signal.SIGTERM)\n"
        "rc = cli.main(['sleepy'])\n"
        "assert signal.getsignal(signal.SIGTERM) is before\n"
        "raise SystemExit(rc)\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert r.returncode == 130, r.stderr
    assert "interrupted" in r.stderr
