"""Turn a pydantic error into a short "expected ..., got ..." sentence."""

from __future__ import annotations

import difflib
from typing import Any

_EXPECTED = {
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "finite_number": "a finite number",
    "bool_type": "true or false",
    "string_type": "a string",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def shown(value: Any) -> str:
    """`repr(value)`, cut to 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def describe_error(error: dict[str, Any], valid_keys: dict[str, Any] | None = None) -> str:
    """One sentence for one pydantic error; `valid_keys` (name → default) helps unknown keys."""
    kind, value = error["type"], error.get("input")
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {shown(value)} ({type(value).__name__})"
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        key = str(error["loc"][-1])
        known = valid_keys or {}
        close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        listing = ", ".join(f"{k}={v!r}" if v is not ... else k for k, v in known.items())
        return f"unknown key {key!r}{hint}; valid keys: {listing}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        bound = next(iter(error.get("ctx", {}).values()), "?")
        relation = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<",
                    "less_than_equal": "<="}[kind]
        return f"expected a value {relation} {bound}, got {shown(value)}"
    if kind == "too_short":
        return "expected at least one entry, got none"
    if kind == "literal_error":
        return f"expected {error['ctx']['expected']}, got {shown(value)}"
    message = error["msg"]
    return message.removeprefix("Value error, ")
