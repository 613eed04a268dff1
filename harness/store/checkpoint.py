"""A run's training state after its last stored chunk, with what it takes to resume it.

The checkpoint records the chunk layout and the harness version it was written with; a run is
resumed only when both match the program about to continue it (`mismatch` says why not).
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.store.atomic import write_atomic
from harness.store.damage import DamagedFile

META_KEY = "meta"


@dataclass(frozen=True)
class Checkpoint:
    """One run's training state: leaves of its state pytree, in `jax.tree.leaves` order."""

    chunks_done: int
    layout: dict[str, Any] | None
    """The chunk layout of the program that wrote it (None: written before layouts were kept)."""
    harness_version: str | None
    leaves: list[np.ndarray]

    def mismatch(self, layout: dict[str, Any], harness_version: str,
                 leaves: list[tuple[tuple[int, ...], np.dtype]]) -> str | None:
        """Why this checkpoint cannot continue a program with this layout, version and state
        shapes `(shape, dtype)` per leaf; None when it can."""
        if self.harness_version != harness_version:
            return (f"it was written by harness {self.harness_version or 'before 0.2'}, this is "
                    f"harness {harness_version}")
        if self.layout != layout:
            return f"it was written with chunk layout {self.layout}, the run now has {layout}"
        found = [(leaf.shape, leaf.dtype) for leaf in self.leaves]
        if found != leaves:
            return "its training state has other array shapes than the program's"
        return None


def save_checkpoint(path: Path, checkpoint: Checkpoint) -> None:
    """Store `checkpoint` at `path` atomically (NumPy .npz, no pickles)."""
    meta = json.dumps({"chunks_done": checkpoint.chunks_done, "layout": checkpoint.layout,
                       "harness_version": checkpoint.harness_version})
    arrays = {f"leaf_{i:04d}": leaf for i, leaf in enumerate(checkpoint.leaves)}
    write_atomic(path, lambda handle: np.savez(handle, **{META_KEY: np.array(meta)}, **arrays))


def load_checkpoint(path: Path) -> Checkpoint | None:
    """The checkpoint at `path`, None when there is none; DamagedFile when it cannot be read."""
    try:
        with np.load(path, allow_pickle=False) as data:
            leaves = [data[k] for k in sorted(data.files) if k.startswith("leaf_")]
            if META_KEY in data.files:
                meta = json.loads(str(data[META_KEY]))
                return Checkpoint(int(meta["chunks_done"]), meta["layout"],
                                  meta["harness_version"], leaves)
            return Checkpoint(int(data["chunks_done"]), None, None, leaves)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        raise DamagedFile(path, f"is not a readable checkpoint ({err})") from None
