"""The sync engine is the desk's core: it never imports Qt (the UI reaches it through one
bridge), so it runs in tests, benchmarks and a killed-and-restarted desk alike."""

from __future__ import annotations

import subprocess
import sys


def test_the_sync_engine_never_imports_qt() -> None:
    code = (
        "import sys, pkgutil, importlib, app.sync as s\n"
        "for m in pkgutil.iter_modules(s.__path__):\n"
        "    importlib.import_module(f'app.sync.{m.name}')\n"
        "print(sorted(n for n in sys.modules if n.startswith(('PySide6', 'qasync'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
