"""A job's compiled programs, traced once and kept on disk beside JAX's compilation cache.

JAX's persistent cache skips XLA's compile, but every process still traces and lowers the
program to find its cache key: about 1.5 s of the 2 s a cached PPO job spends compiling here.
A program exported (`jax.export`: serialised StableHLO) under a key of everything that shapes
its trace skips both; XLA's compile of the exported module then hits JAX's cache as before.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import json
import pickle
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import jax
import ml_dtypes
from jax import export

import harness
from harness.runs import canonical_json
from harness.store.atomic import write_atomic
from harness.store.provenance import package_versions

FORMAT = 1
"""Version of the files' layout; a file of another version is traced again and replaced."""
SUFFIX = ".program"


class CompiledProgram(NamedTuple):
    """A compiled program that takes and returns pytrees, with its outputs' shapes."""

    call: Callable[..., Any]
    output_shapes: Any
    """The outputs as a pytree of `jax.ShapeDtypeStruct`."""


def programs_directory() -> Path | None:
    """Where exported programs are kept: beside JAX's persistent compilation cache when this
    process enabled it (`harness.training.compile_cache`), else None (nothing kept)."""
    cache = jax.config.values.get("jax_compilation_cache_dir")
    return Path(cache) / "programs" if cache else None


def source_digest(files: Sequence[Path]) -> str:
    """sha256 of the files' names and contents, in the order given."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(f"{path.name}\0{path.stat().st_size}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@functools.cache
def _code_and_versions() -> dict[str, Any]:
    """The harness's code and the versions of the packages that decide a run's numbers, with
    ml_dtypes', whose dtypes are traced (fixed for a process's life)."""
    package = Path(harness.__file__).parent
    return {"format": FORMAT, "harness": source_digest(sorted(package.rglob("*.py"))),
            "packages": {**package_versions(), "ml_dtypes": ml_dtypes.__version__}}


def _tracing_environment() -> dict[str, Any]:
    """What, besides a program's own description, decides what tracing it gives: the code,
    JAX's settings now (a process may change them) and the device."""
    settings = {name: value for name, value in jax.config.values.items() if "cache" not in name}
    return {**_code_and_versions(),
            "jax_config": json.dumps(sorted(settings.items()), default=str),
            "backend": jax.default_backend(), "device_kind": jax.devices()[0].device_kind}


def builder_identity(builder: Callable[..., Any]) -> dict[str, str]:
    """The name and source digest of the function that builds an agent: a builder defined
    outside the harness (a test's, a user's) traces to a program of its own."""
    source = inspect.getsourcefile(builder)
    return {"builder": f"{builder.__module__}.{builder.__qualname__}",
            "builder_source": source_digest([Path(source)]) if source else ""}


def _shape_specs(leaves: Sequence[Any]) -> list[jax.ShapeDtypeStruct]:
    return [jax.ShapeDtypeStruct(leaf.shape, leaf.dtype) for leaf in leaves]


def _output_shapes(out_tree: Any, avals: Sequence[Any]) -> Any:
    return jax.tree.unflatten(out_tree, _shape_specs(avals))


class ProgramCache:
    """Compiles a job's programs through exported modules kept under `directory`, each keyed
    by `identity` (what the job's programs are: algorithm, environment, static
    hyperparameters, layout), the program's name, its arguments' shapes and
    `_tracing_environment()`. Files are written atomically, so processes sharing the
    directory (on several hosts too) see a program whole or not at all; a file that cannot be
    read back is traced again and replaced."""

    def __init__(self, directory: Path, identity: Mapping[str, Any]) -> None:
        self.directory = directory
        self.identity = dict(identity)

    def key(self, name: str, in_tree: Any, leaves: Sequence[Any]) -> str:
        """The file name's stem for program `name` called with these arguments."""
        description = {"identity": self.identity, "name": name, "in_tree": str(in_tree),
                       "args": [f"{leaf.dtype}{list(leaf.shape)}" for leaf in leaves],
                       "environment": _tracing_environment()}
        return hashlib.sha256(canonical_json(description).encode()).hexdigest()

    def compile(self, name: str, function: Callable[..., Any], args: tuple,
                donate: tuple[int, ...] = ()) -> CompiledProgram:
        """`function` compiled for `args` (arrays or `ShapeDtypeStruct`s), the positional
        arguments in `donate` donated; traced only when no file holds it yet."""
        leaves, in_tree = jax.tree.flatten(args)
        path = self.directory / f"{self.key(name, in_tree, leaves)}{SUFFIX}"
        loaded = _load(path, in_tree)
        if loaded is None:
            loaded = _export(function, in_tree, leaves)
            _save(path, *loaded, in_tree)
        exported, out_tree = loaded
        counts = [len(jax.tree.leaves(arg)) for arg in args]
        offsets = [sum(counts[:index]) for index in range(len(args) + 1)]
        donated = tuple(leaf for index in donate
                        for leaf in range(offsets[index], offsets[index + 1]))
        compiled = jax.jit(exported.call, donate_argnums=donated).lower(
            *_shape_specs(exported.in_avals)).compile()

        def call(*arguments: Any) -> Any:
            flat, tree = jax.tree.flatten(arguments)
            if tree != in_tree:
                raise TypeError(f"program {name!r} compiled for arguments {in_tree}, "
                                f"called with {tree}")
            return jax.tree.unflatten(out_tree, compiled(*flat))

        return CompiledProgram(call, _output_shapes(out_tree, exported.out_avals))


def compile_program(cache: ProgramCache | None, name: str, function: Callable[..., Any],
                    args: tuple, donate: tuple[int, ...] = ()) -> CompiledProgram:
    """`function` jitted and compiled for `args`: through `cache` when given, else traced."""
    if cache is not None:
        return cache.compile(name, function, args, donate)
    compiled = jax.jit(function, donate_argnums=donate).lower(*args).compile()
    out_leaves, out_tree = jax.tree.flatten(compiled.out_info)
    return CompiledProgram(compiled, _output_shapes(out_tree, out_leaves))


def _export(function: Callable[..., Any], in_tree: Any,
            leaves: Sequence[Any]) -> tuple[export.Exported, Any]:
    """Trace and lower `function` on flat arguments; the module and its outputs' tree."""
    out_trees = []

    def flat(*flat_args: Any) -> list[Any]:
        out_leaves, out_tree = jax.tree.flatten(function(*jax.tree.unflatten(in_tree, flat_args)))
        out_trees.append(out_tree)
        return out_leaves

    exported = export.export(jax.jit(flat))(*_shape_specs(leaves))
    return exported, out_trees[0]


def _load(path: Path, in_tree: Any) -> tuple[export.Exported, Any] | None:
    """The module and output tree kept at `path`, or None if there is none that reads back
    whole, of this format, for arguments of this tree."""
    try:
        with path.open("rb") as file:
            kept = pickle.load(file)
        if kept["format"] != FORMAT or kept["in_tree"] != in_tree:
            return None
        return export.deserialize(bytearray(kept["exported"])), kept["out_tree"]
    except Exception:  # noqa: BLE001 - missing, damaged or stale: traced again and replaced
        return None


def _save(path: Path, exported: export.Exported, out_tree: Any, in_tree: Any) -> None:
    """Write the program whole (`write_atomic`); a directory that cannot be written keeps
    nothing."""
    kept = {"format": FORMAT, "exported": bytes(exported.serialize()), "in_tree": in_tree,
            "out_tree": out_tree}
    with contextlib.suppress(OSError):
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomic(path, lambda file: pickle.dump(kept, file))
