"""Asking for Lava where it cannot import gives an ImportError that says what to run."""

from __future__ import annotations

import subprocess
import sys

import pytest

from exporters._lava import require_lava


def test_missing_lava_module_explains_the_fix():
    with pytest.raises(ImportError, match=r"needs Python 3\.10.*make test.*scripts/bootstrap\.sh"):
        require_lava("lava.this_module_does_not_exist")


def test_exporters_core_imports_without_lava_or_side_effects():
    code = (
        "import sys; import exporters.fixed_point, exporters.intnet, exporters.twin, "
        "exporters.runtime, exporters._lava; "
        "assert not any(m == 'lava' or m.startswith('lava.') for m in sys.modules), 'lava imported'"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout == ""
