"""gymnax comes in without its plotting libraries, which still work when something uses them."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
import harness.envs.gymnax_backend
from harness.envs.gymnax_import import DeferredModule
loaded = [name for name in ("seaborn", "matplotlib.pyplot", "scipy.stats")
          if name in sys.modules and not isinstance(sys.modules[name], DeferredModule)]
print("loaded:", ",".join(loaded) or "none")
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
figure, axes = plt.subplots()
axes.plot([0, 1], [1, 0])
print("figure:", type(figure).__name__, "pyplot:", type(sys.modules["matplotlib.pyplot"]).__name__)
import seaborn
print("seaborn:", callable(seaborn.color_palette))
"""


def test_gymnax_loads_without_plotting_and_plotting_still_works() -> None:
    """The training core's import of gymnax skips pyplot and seaborn until first used."""
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                          check=True)
    lines = done.stdout.splitlines()
    assert lines[0] == "loaded: none"
    assert lines[1] == "figure: Figure pyplot: module"
    assert lines[2] == "seaborn: True"
