"""gymnax comes in without its plotting libraries, which still work when something uses them."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
import harness.envs.gymnax_backend
from harness.envs.gymnax_import import DeferredModule
loaded = [name for name in ("seaborn", "matplotlib", "matplotlib.pyplot", "matplotlib.colors",
                            "scipy.stats", "PIL.Image")
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
    """The training core's import of gymnax skips matplotlib and seaborn until first used."""
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                          check=True)
    lines = done.stdout.splitlines()
    assert lines[0] == "loaded: none"
    assert lines[1] == "figure: Figure pyplot: module"
    assert lines[2] == "seaborn: True"


SUBMODULES = """
import harness.envs.gymnax_backend
from matplotlib import colors
import matplotlib.patches as patches
print("patch:", type(patches.Rectangle((0, 0), 1, 1)).__name__)
print("red:", colors.to_rgb("red"))
import matplotlib
print("backend:", isinstance(matplotlib.get_backend(), str))
"""


def test_matplotlib_submodules_import_through_the_placeholder_package() -> None:
    """A submodule that is not deferred, and a deferred one read from the package, both work
    while `matplotlib` itself is still a placeholder."""
    done = subprocess.run([sys.executable, "-c", SUBMODULES], capture_output=True, text=True,
                          check=True)
    assert done.stdout.splitlines() == ["patch: Rectangle", "red: (1.0, 0.0, 0.0)",
                                        "backend: True"]
