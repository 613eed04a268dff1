"""gymnax, imported without the plotting libraries it loads only to render.

gymnax's package imports every environment module, and some of them import
`matplotlib.pyplot`, `matplotlib.colors` and `seaborn` (with scipy.stats) at module level, for
`render` alone: about 1.6 s of every worker's start on a 2-core machine. Until something in the
process uses them, those modules (and the `matplotlib` package itself) are placeholders; the
first attribute read imports the real module.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import types
from typing import Any

DEFERRED = ("matplotlib", "matplotlib.colors", "matplotlib.pyplot", "seaborn")
"""Modules gymnax imports at module level and uses only to render."""


class DeferredModule(types.ModuleType):
    """Stands for a module in `sys.modules`; the first attribute read imports the real one.

    A placeholder package has the real one's `__path__` and answers with the placeholder of a
    deferred submodule (`from matplotlib import colors`) without importing anything; importing
    any other of its submodules imports the real package first (`RealPackageFirst`)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.__spec__ = None
        found = None if "." in name else importlib.util.find_spec(name)
        if found is not None and found.submodule_search_locations is not None:
            self.__path__ = list(found.submodule_search_locations)

    def load(self) -> types.ModuleType:
        """Import the real module in place of this one and take its attributes."""
        name = self.__name__
        if sys.modules.get(name) is self:
            del sys.modules[name]
        real = importlib.import_module(name)
        vars(self).update(vars(real))
        return real

    def __getattr__(self, attribute: str) -> Any:
        """Import the real module, take its attributes, and answer from them."""
        child = sys.modules.get(f"{self.__name__}.{attribute}")
        if isinstance(child, DeferredModule):
            return child
        return getattr(self.load(), attribute)


class RealPackageFirst(importlib.abc.MetaPathFinder):
    """Before a submodule of a placeholder package is imported, imports the real package (a
    submodule expects its package initialised); finds nothing itself."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> None:
        """Import the real package of `fullname` if a placeholder stands for it."""
        package = sys.modules.get(fullname.partition(".")[0])
        if "." in fullname and isinstance(package, DeferredModule):
            package.load()


def _defer(name: str) -> None:
    if name not in sys.modules:
        sys.modules[name] = DeferredModule(name)


sys.meta_path.insert(0, RealPackageFirst())
for _name in DEFERRED:
    _defer(_name)

import gymnax  # noqa: E402  (after the placeholders, on purpose)
from gymnax.environments import spaces  # noqa: E402

__all__ = ["gymnax", "spaces"]
