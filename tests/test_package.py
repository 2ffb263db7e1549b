"""Packaging: lava_pinn is the torch world and must import without Lava."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from conftest import REPO


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_lava_pinn_imports_without_lava():
    # Block every lava module: importing lava_pinn (and its submodules) must not need one.
    code = """
    import importlib, pkgutil, sys

    class Block:
        def find_spec(self, name, path=None, target=None):
            if name == "lava" or name.startswith("lava."):
                raise ImportError(f"blocked import of {name}")
            return None

    sys.meta_path.insert(0, Block())
    import lava_pinn
    for mod in pkgutil.walk_packages(lava_pinn.__path__, "lava_pinn."):
        importlib.import_module(mod.name)
    leaked = sorted(m for m in sys.modules if m == "lava" or m.startswith("lava."))
    print("LEAKED", leaked)
    """
    res = _run(code)
    assert res.returncode == 0, res.stderr
    assert "LEAKED []" in res.stdout


def test_import_has_no_side_effects():
    res = _run("import lava_pinn")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "" and res.stderr == ""


def test_single_version_string():
    import lava_pinn
    from lava_pinn._version import __version__

    assert lava_pinn.__version__ == __version__
    assert __version__.count(".") == 2


def test_bootstrap_finds_python310():
    res = subprocess.run(
        ["bash", "scripts/bootstrap.sh", "--print-python"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    out = subprocess.run([res.stdout.strip(), "--version"], capture_output=True, text=True)
    assert out.stdout.startswith("Python 3.10")
