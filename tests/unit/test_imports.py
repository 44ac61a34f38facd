"""tinybench imports without TensorFlow: only converting a task's model loads it."""

import subprocess
import sys
from pathlib import Path

import pytest

import tinybench

IMPORT_ALL_WITHOUT_TENSORFLOW = """
import importlib, importlib.abc, pkgutil, sys

class NoTensorFlow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("tensorflow", "keras"):
            raise ImportError(f"{name} is not available")

sys.meta_path.insert(0, NoTensorFlow())
import tinybench
for module in pkgutil.walk_packages(tinybench.__path__, "tinybench."):
    if module.name != "tinybench.__main__":  # that one runs the command line
        importlib.import_module(module.name)
"""


@pytest.mark.slow  # it imports everything else: TVM, pandas, matplotlib…
def test_every_module_imports_without_tensorflow():
    checkout = Path(tinybench.__file__).parents[1]  # the same tinybench as this test's
    subprocess.run([sys.executable, "-c", IMPORT_ALL_WITHOUT_TENSORFLOW], cwd=checkout,
                   check=True)
