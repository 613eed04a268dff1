"""gymnax, imported without the plotting libraries it loads only to render.

gymnax's package imports every environment module, and some of them import
`matplotlib.pyplot` and `seaborn` (with scipy.stats) at module level, for `render` alone:
about 1.3 s of every worker's start on a 2-core machine. Until something in the process uses
them, those two modules are placeholders; the first attribute read imports the real module.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

DEFERRED = ("matplotlib.pyplot", "seaborn")
"""Modules gymnax imports at module level and uses only to render."""


class DeferredModule(types.ModuleType):
    """Stands for a module in `sys.modules`; the first attribute read imports the real one."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.__spec__ = None

    def __getattr__(self, attribute: str) -> Any:
        """Import the real module, take its attributes, and answer from them."""
        name = self.__name__
        if sys.modules.get(name) is self:
            del sys.modules[name]
        real = importlib.import_module(name)
        vars(self).update(vars(real))
        return getattr(real, attribute)


def _defer(name: str) -> None:
    if name not in sys.modules:
        sys.modules[name] = DeferredModule(name)


for _name in DEFERRED:
    _defer(_name)

import gymnax  # noqa: E402  (after the placeholders, on purpose)
from gymnax.environments import spaces  # noqa: E402

__all__ = ["gymnax", "spaces"]
