"""Read a suite file, validate it completely, and report the first problem on one line."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticUndefined
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceStartEvent,
)
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.scanner import Scanner

from harness.suite.checks import check_suite
from harness.suite.errors import Loc, LocatedError, SuiteError
from harness.suite.limits import MAX_DEPTH, MAX_FILE_BYTES, MAX_LINES, LimitError, NodeCounter
from harness.suite.messages import describe_error
from harness.suite.schema import Suite

SUITES_DIR = Path("suites")


def find_suite(name_or_path: str | Path, suites_dir: Path = SUITES_DIR) -> Path:
    """The suite file for a path, or for a bare name looked up as `suites/<name>.yaml`."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise SuiteError("no such suite file", file=str(path))
        return path
    candidate = suites_dir / f"{name_or_path}.yaml"
    if candidate.is_file():
        return candidate
    known = sorted(p.stem for p in suites_dir.glob("*.yaml")) if suites_dir.is_dir() else []
    raise SuiteError(
        f"no suite named {str(name_or_path)!r} (looked for {candidate}; "
        f"known: {', '.join(known) or 'none'})"
    )


def load_suite(path: str | Path) -> Suite:
    """Parse and fully validate a suite file; raise SuiteError naming file, line and key."""
    path = Path(path)
    file = str(path)
    text = _read_text(path, file)
    _check_shape(text, file)
    tree = _parse(text, file)
    if tree is None:
        raise SuiteError("the suite file is empty", file=file)
    if not isinstance(tree, dict):
        raise SuiteError(
            f"expected a mapping of suite keys at the top level, got {_kind(tree)}",
            file=file, line=1)
    data = _plain(tree)
    data.setdefault("name", path.stem)
    try:
        suite = Suite.model_validate(data)
        check_suite(suite)
    except ValidationError as err:
        first = min(err.errors(),
                    key=lambda e: (e["type"] == "missing", _line(tree, e["loc"]) or 0))
        raise SuiteError(describe_error(first, _valid_keys(first["loc"])), file=file,
                         line=_line(tree, first["loc"]), loc=first["loc"]) from None
    except LocatedError as err:
        raise SuiteError(err.message, file=file, line=_line(tree, err.loc), loc=err.loc) from None
    return suite


def _read_text(path: Path, file: str) -> str:
    """The file's text, if it is UTF-8 and within MAX_FILE_BYTES and MAX_LINES."""
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
            size = max(os.fstat(stream.fileno()).st_size, len(data))
    except OSError as err:
        raise SuiteError(f"cannot read the file ({err.strerror})", file=file) from None
    if len(data) > MAX_FILE_BYTES:
        raise SuiteError(f"the file is {size:,} bytes, more than the {MAX_FILE_BYTES:,} "
                         "a suite file may hold", file=file)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SuiteError(f"not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start}); "
                         "save the file as UTF-8", file=file,
                         line=data.count(b"\n", 0, err.start) + 1) from None
    lines = len(text.splitlines())
    if lines > MAX_LINES:
        raise SuiteError(f"the file has {lines:,} lines, more than the {MAX_LINES:,} "
                         "a suite file may hold", file=file)
    return text


class _FlowDepthScanner(Scanner):
    """ruamel's scanner, stopped at the first `[` or `{` nested deeper than MAX_DEPTH.

    Unstopped, it looks ahead over every open bracket before the first event, which takes
    seconds on a few thousand of them.
    """

    def fetch_flow_collection_start(self, TokenClass: Any, to_push: str) -> None:
        """Scan a `[` or `{`, unless it would nest deeper than MAX_DEPTH."""
        if self.flow_level >= MAX_DEPTH:
            raise LimitError(f"nested deeper than {MAX_DEPTH} levels",
                             line=self.reader.line + 1)
        super().fetch_flow_collection_start(TokenClass, to_push)


def _check_shape(text: str, file: str) -> None:
    """Walk the YAML events, without building objects, and reject a file beyond the limits."""
    yaml = YAML(typ="safe", pure=True)
    yaml.Scanner = _FlowDepthScanner
    counter = NodeCounter()
    line = None
    try:
        for event in yaml.parse(text):
            line = event.start_mark.line + 1
            _follow(counter, event)
    except LimitError as err:
        raise SuiteError(str(err), file=file, line=err.line or line, loc=counter.loc) from None
    except YAMLError as err:
        raise _yaml_error(err, text, file) from None


def _follow(counter: NodeCounter, event: Any) -> None:
    if isinstance(event, ScalarEvent):
        counter.scalar(event.value, event.anchor)
    elif isinstance(event, AliasEvent):
        counter.alias(event.anchor)
    elif isinstance(event, MappingStartEvent | SequenceStartEvent):
        counter.start(event.anchor, mapping=isinstance(event, MappingStartEvent))
    elif isinstance(event, CollectionEndEvent):
        counter.end()


def _parse(text: str, file: str) -> Any:
    try:
        return YAML(typ="rt").load(text)
    except Exception as err:
        # Besides YAMLError, ruamel's constructors raise ValueError, KeyError, IndexError or
        # AttributeError on odd tagged values such as `!!int 0x` or `!!bool ''`.
        raise _yaml_error(err, text, file) from None


def _yaml_error(err: Exception, text: str, file: str) -> SuiteError:
    """One line for what ruamel could not read, at the line it names."""
    if isinstance(err, MarkedYAMLError):
        mark = err.problem_mark or err.context_mark
        problem = " ".join(p for p in (err.context, err.problem) if p)
        return SuiteError(f"invalid YAML: {problem or type(err).__name__}", file=file,
                          line=mark.line + 1 if mark else None)
    line = text.count("\n", 0, err.position) + 1 if isinstance(err, ReaderError) else None
    problem = (str(err).splitlines() or [""])[0]
    if not isinstance(err, YAMLError):
        problem = f"cannot build a value ({type(err).__name__}: {problem})"
    return SuiteError(f"invalid YAML: {problem or type(err).__name__}", file=file, line=line)


def _kind(node: Any) -> str:
    return "a list" if isinstance(node, list) else f"{type(node).__name__} {node!r}"


def _plain(node: Any) -> Any:
    """ruamel's round-trip types as plain dict / list / str / int / float / bool."""
    if isinstance(node, dict):
        return {_plain(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    for kind in (bool, int, float, str):
        if isinstance(node, kind):
            return kind(node)
    return node


def _line(tree: Any, loc: Loc) -> int | None:
    """1-based line of the deepest node of `loc` that the YAML tree knows."""
    line, node = None, tree
    for part in loc:
        if isinstance(node, dict) and part in node:
            line, node = node.lc.key(part)[0] + 1, node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            line, node = node.lc.item(part)[0] + 1, node[part]
        else:
            break
    return line


def _valid_keys(loc: Loc) -> dict[str, Any]:
    """Every key (with its default) of the model that owns the key at `loc`."""
    model = _model_at(Suite, tuple(loc[:-1]))
    keys: dict[str, Any] = {}
    for name, field in (model.model_fields.items() if model else ()):
        default = ... if field.is_required() else (
            field.default if field.default is not PydanticUndefined else field.default_factory())
        keys[name] = default.model_dump() if isinstance(default, BaseModel) else default
    return keys


def _model_at(model: type[BaseModel], path: Loc) -> type[BaseModel] | None:
    """The model class found by following `path` (field names, list indices) from `model`."""
    kind: Any = model
    for part in path:
        options = [kind, *get_args(kind)]
        if isinstance(part, int):
            lists = [get_args(a)[0] for a in options if get_origin(a) is list]
            kind = lists[0] if lists else None
        else:
            models = [a for a in options if _is_model(a) and part in a.model_fields]
            kind = models[0].model_fields[part].annotation if models else None
    models = [a for a in (kind, *get_args(kind)) if _is_model(a)]
    return models[0] if models else None


def _is_model(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, BaseModel)
