"""A stand-in for `wandb.Api` that behaves like wandb 0.31's public API, without a network.

What it copies from `wandb/apis/public/` (wandb 0.31):

- `Api.runs(path, filters, order, per_page, include_sweeps, lazy)` returns a `Runs` that the
  Api caches per (path, filters, order) until `Api.flush()`. Iterating fetches `per_page` runs
  per request; `iter()` starts again at the first cached run. Like wandb's `Paginator`, a failed
  page fetch has already advanced the index, so a bare `next()` after an error skips a run.
- A lazy `Run` (the default) has no config or summary; reading either costs one request per run.
- Attributes resolve like wandb's `Attrs`: `run.heartbeat_at` reads `heartbeatAt`. A run has no
  `updated_at`; `lastHistoryStep` is a property that costs a request.
- `scan_history()` costs a `lastHistoryStep` request and an init request, then each page is one
  request for `page_size` *steps* (not rows) up to the last step. Rows carry `_step`, `_runtime`
  and `_timestamp`; with `keys`, only rows holding every key (as documented), cut down to those
  keys (an assumption: wandb does not say what else such rows hold).
- Errors: fetching a page while iterating raises `WandbApiFailedError` (`response.http_status`
  is the HTTP status); `scan_history()` itself wraps errors in `CommError`, as wandb's
  `@normalize_exceptions` does. An unknown project raises `ValueError` on the first page.

Server-side `filters` are applied (a MongoDB subset) unless `honour_filters=False`. Every request
is counted in `Api.requests`, keyed by `(kind, run_id)`; `Api.fail` makes requests fail.
"""

from __future__ import annotations

import itertools
import threading
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from wandb.errors import CommError
from wandb.proto.wandb_api_pb2 import ApiErrorResponse
from wandb.sdk.lib.service.service_connection import WandbApiFailedError

APP_URL = "https://wandb.ai/"
REQUEST_KINDS = ("runs_page", "run_load", "last_history_step", "scan_init", "history_page")
_MISSING = object()
_clock = itertools.count(1)
T = TypeVar("T")


def timestamp() -> str:
    """A new, later ISO timestamp each call (the server's clock)."""
    return f"2024-01-01T00:00:00.{next(_clock):06d}Z"


@dataclass
class ServerRun:
    """A run as the W&B server stores it."""

    entity: str
    project: str
    id: str
    config: dict[str, Any]
    display_name: str
    state: str = "finished"
    tags: list[str] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    created_at: str = field(default_factory=timestamp)
    heartbeat_at: str = field(default_factory=timestamp)

    def log(self, rows: list[dict[str, Any]]) -> None:
        """Append history rows as `wandb.log` does (adds `_step`, `_runtime`, `_timestamp`)."""
        for row in rows:
            step = len(self.history)
            self.history.append({**row, "_step": step, "_runtime": 0.5 * step,
                                 "_timestamp": 1.7e9 + step})
        self.heartbeat_at = timestamp()

    @property
    def last_step(self) -> int:
        """The last `_step` logged, or -1."""
        return self.history[-1]["_step"] if self.history else -1

    def summary(self) -> dict[str, Any]:
        """The last value of every history key."""
        summary: dict[str, Any] = {}
        for row in self.history:
            summary.update(row)
        return summary

    def node(self, lazy: bool) -> dict[str, Any]:
        """The GraphQL node of the run (the light fragment when `lazy`), config unwrapped."""
        node = {"id": f"storage-{self.id}", "name": self.id, "displayName": self.display_name,
                "state": self.state, "tags": list(self.tags), "createdAt": self.created_at,
                "heartbeatAt": self.heartbeat_at, "historyLineCount": len(self.history)}
        if not lazy:
            node |= {"config": dict(self.config), "summaryMetrics": self.summary()}
        return node

    def lookup(self, key: str) -> Any:
        """A field by its filter name (`state`, `tags`, `name`, `display_name`, `config.KEY`)."""
        fields = {"state": self.state, "tags": self.tags, "name": self.id,
                  "display_name": self.display_name}
        if key in fields:
            return fields[key]
        if key.startswith("config."):
            return self.config.get(key.removeprefix("config."), _MISSING)
        raise NotImplementedError(f"stand-in cannot filter on {key!r}")


@dataclass
class Fault:
    """Make `times` requests of `kind` (for `run_id`, or any run) fail, after `after` pass."""

    kind: str
    run_id: str | None
    status: int
    times: int | None
    message: str
    after: int = 0


class Api:
    """The W&B public API: projects of `ServerRun`s, requests counted, faults injectable."""

    def __init__(self, honour_filters: bool = True, timeout: int | None = None) -> None:
        self.honour_filters = honour_filters
        self.timeout = timeout
        self.server: dict[str, list[ServerRun]] = {}
        self.requests: Counter[tuple[str, str | None]] = Counter()
        self.runs_calls: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        self._runs: dict[str, Runs] = {}
        self._lock = threading.Lock()

    def add_run(self, path: str, run_id: str, config: dict[str, Any],
                rows: list[dict[str, Any]], **fields: Any) -> ServerRun:
        """Create a run in project `path` (`entity/project`) and log `rows` to it."""
        entity, project = path.split("/")
        run = ServerRun(entity, project, run_id, dict(config),
                        fields.pop("display_name", f"{run_id}-name"), **fields)
        run.log(rows)
        self.server.setdefault(path, []).append(run)
        return run

    def fail(self, kind: str, run_id: str | None = None, status: int = 429,
             times: int | None = 1, after: int = 0, message: str | None = None) -> None:
        """Make requests of `kind` fail with HTTP `status` once `after` of them have passed
        (`times=None`: every time)."""
        assert kind in REQUEST_KINDS, kind
        text = message or ("rate limit exceeded" if status == 429 else f"HTTP {status}")
        self.faults.append(Fault(kind, run_id, status, times, text, after))

    def count(self, kind: str, run_id: str | None = None) -> int:
        """How many requests of `kind` were made (for `run_id`, or in all)."""
        return sum(n for (k, r), n in self.requests.items()
                   if k == kind and (run_id is None or r == run_id))

    def request(self, kind: str, run_id: str | None = None) -> None:
        """Count one request and raise if a fault matches it."""
        with self._lock:
            self.requests[kind, run_id] += 1
            for fault in self.faults:
                if fault.kind != kind or fault.run_id not in (None, run_id) or fault.times == 0:
                    continue
                if fault.after > 0:
                    fault.after -= 1
                else:
                    fault.times = None if fault.times is None else fault.times - 1
                    raise WandbApiFailedError(fault.message, ApiErrorResponse(
                        message=fault.message, http_status=fault.status))

    def flush(self) -> None:
        """Forget cached `Runs`, as `wandb.Api.flush` does."""
        self._runs = {}

    def runs(self, path: str | None = None, filters: dict[str, Any] | None = None,
             order: str = "+created_at", per_page: int = 50, include_sweeps: bool = False,
             lazy: bool = True) -> Runs:
        """The runs of `entity/project` matching `filters`, fetched lazily page by page."""
        assert path is not None and path.count("/") == 1, path
        filters = filters or {}
        self.runs_calls.append({"path": path, "filters": filters, "order": order,
                                "per_page": per_page, "lazy": lazy})
        key = path + str(filters) + str(order)
        if key not in self._runs:
            self._runs[key] = Runs(self, path, filters, order, per_page, lazy)
        return self._runs[key]

    def matching(self, path: str, filters: dict[str, Any], order: str) -> list[ServerRun]:
        """The server's answer: runs of `path` matching `filters`, in `order`."""
        if path not in self.server:
            raise ValueError(f"Could not find project {path.split('/')[1]}")
        runs = [run for run in self.server[path]
                if not self.honour_filters or _matches(run.lookup, filters)]
        assert order.lstrip("+-") == "created_at", "the stand-in orders by created_at only"
        return sorted(runs, key=lambda run: run.created_at, reverse=order.startswith("-"))

    def server_run(self, path: str, run_id: str) -> ServerRun:
        """The stored run `run_id` of `path`."""
        return next(run for run in self.server[path] if run.id == run_id)


class Runs:
    """A lazy, paged iterator of `Run`s, with wandb's `Paginator` semantics."""

    def __init__(self, api: Api, path: str, filters: dict[str, Any], order: str,
                 per_page: int, lazy: bool) -> None:
        self.api, self.path, self.filters, self.order = api, path, filters, order
        self.per_page, self._lazy = per_page, lazy
        self.objects: list[Run] = []
        self.index = -1
        self._fetched = 0
        self._more = True

    def __iter__(self) -> Iterator[Run]:
        self.index = -1
        return self

    def __next__(self) -> Run:
        self.index += 1
        if len(self.objects) <= self.index and (
                not self._load_page() or len(self.objects) <= self.index):
            raise StopIteration
        return self.objects[self.index]

    def __len__(self) -> int:
        return len(self.api.matching(self.path, self.filters, self.order))

    def _load_page(self) -> bool:
        if not self._more:
            return False
        self.api.request("runs_page")
        matching = self.api.matching(self.path, self.filters, self.order)
        page = matching[self._fetched:self._fetched + self.per_page]
        self._fetched += len(page)
        self._more = self._fetched < len(matching)
        self.objects.extend(Run(self.api, server, self._lazy) for server in page)
        return True


class Run:
    """A run as `Api.runs` yields it: a snapshot of the server's run when its page was fetched."""

    def __init__(self, api: Api, server: ServerRun, lazy: bool) -> None:
        self._api, self._server, self._lazy = api, server, lazy
        self._attrs = server.node(lazy)
        self.entity, self.project = server.entity, server.project

    def __getattr__(self, name: str) -> Any:
        attrs = self.__dict__.get("_attrs", {})
        head, *rest = name.split("_")
        camel = head + "".join(part.title() for part in rest)
        for key in (camel, name):
            if key in attrs:
                return attrs[key]
        raise AttributeError(f"{self!r} object has no attribute {name!r}")

    def __repr__(self) -> str:
        return f"<Run {'/'.join(self.path)} ({self.state})>"

    @property
    def id(self) -> str:
        """The run id (the GraphQL `name`)."""
        return self._attrs["name"]

    @property
    def name(self) -> str:
        """The display name."""
        return self._attrs["displayName"]

    @property
    def state(self) -> str:
        """running, finished, crashed, failed, killed, ..."""
        return self._attrs["state"]

    @property
    def path(self) -> list[str]:
        """`[entity, project, run_id]`, URL-quoted."""
        return [urllib.parse.quote(part, safe="") for part in (self.entity, self.project, self.id)]

    @property
    def url(self) -> str:
        """The run's page."""
        entity, project, run_id = self.path
        return f"{APP_URL}{entity}/{project}/runs/{run_id}"

    def load_full_data(self) -> None:
        """Fetch config and summary (one request), as a lazy run does on first use."""
        self._api.request("run_load", self.id)
        self._attrs |= self._server.node(lazy=False)
        self._lazy = False

    @property
    def config(self) -> dict[str, Any]:
        """The run's config, internal keys removed and values unwrapped."""
        if self._lazy:
            self.load_full_data()
        return self._attrs["config"]

    @property
    def summary_metrics(self) -> dict[str, Any]:
        """The last value of every history key."""
        if self._lazy:
            self.load_full_data()
        return self._attrs["summaryMetrics"]

    @property
    def summary(self) -> dict[str, Any]:
        """The summary (wandb returns a dict-like `HTTPSummary`)."""
        return self.summary_metrics

    @property
    def lastHistoryStep(self) -> int:  # noqa: N802 (wandb's name)
        """The last step in the run's history, fetched now (-1 for none)."""
        self._api.request("last_history_step", self.id)
        return self._server.last_step

    def scan_history(self, keys: list[str] | None = None, page_size: int = 1_000,
                     min_step: int = 0, max_step: int | None = None,
                     use_cache: bool = True) -> HistoryScan:
        """Every history row, read page by page of `page_size` steps."""
        def start() -> HistoryScan:
            last = self.lastHistoryStep
            stop = last + 1 if max_step is None else min(max_step, last + 1)
            return HistoryScan(self._api, self._server, keys, page_size, min_step, stop)
        return _normalized(start)


class HistoryScan:
    """An iterator over history rows that fetches one page of steps per request."""

    def __init__(self, api: Api, server: ServerRun, keys: list[str] | None, page_size: int,
                 min_step: int, stop_step: int) -> None:
        api.request("scan_init", server.id)
        self._api, self._server, self.keys = api, server, keys
        self.page_size, self.min_step, self._stop_step = page_size, min_step, stop_step
        self.rows: list[dict[str, Any]] = []
        self.scan_offset = 0
        self.page_offset = min_step

    def __iter__(self) -> Iterator[dict[str, Any]]:
        self.scan_offset, self.page_offset, self.rows = 0, self.min_step, []
        return self

    def __next__(self) -> dict[str, Any]:
        while True:
            if self.scan_offset < len(self.rows):
                self.scan_offset += 1
                return self.rows[self.scan_offset - 1]
            if self.page_offset >= self._stop_step:
                raise StopIteration
            self._load_next()

    def _load_next(self) -> None:
        self._api.request("history_page", self._server.id)
        end = min(self.page_offset + self.page_size, self._stop_step)
        rows = [row for row in self._server.history if self.page_offset <= row["_step"] < end]
        if self.keys is not None:
            rows = [{key: row[key] for key in self.keys} for row in rows
                    if all(key in row for key in self.keys)]
        self.rows, self.scan_offset = rows, 0
        self.page_offset += self.page_size


def _normalized(call: Callable[[], T]) -> T:
    """Re-raise wandb-core failures as `CommError`, like `@normalize_exceptions`."""
    try:
        return call()
    except WandbApiFailedError as err:
        message = err.response.message if err.response is not None else str(err)
        raise CommError(message or str(err), err) from err


def _matches(lookup: Callable[[str], Any], query: dict[str, Any]) -> bool:
    """Whether a run matches a MongoDB-style query (`$and`, `$or`, `$in`, `$nin`, `$eq`,
    `$ne`, `$exists`; a list field matches a value it contains)."""
    for key, condition in query.items():
        if key == "$and":
            ok = all(_matches(lookup, part) for part in condition)
        elif key == "$or":
            ok = any(_matches(lookup, part) for part in condition)
        elif isinstance(condition, dict) and condition and all(k[0] == "$" for k in condition):
            ok = all(_operator(lookup(key), op, arg) for op, arg in condition.items())
        else:
            ok = _equals(lookup(key), condition)
        if not ok:
            return False
    return True


def _operator(value: Any, op: str, arg: Any) -> bool:
    if op == "$eq":
        return _equals(value, arg)
    if op == "$ne":
        return not _equals(value, arg)
    if op == "$in":
        return any(_equals(value, item) for item in arg)
    if op == "$nin":
        return not any(_equals(value, item) for item in arg)
    if op == "$exists":
        return (value is not _MISSING) == bool(arg)
    raise NotImplementedError(f"stand-in has no MongoDB operator {op}")


def _equals(value: Any, target: Any) -> bool:
    if value is _MISSING:
        return target is None
    if isinstance(value, list) and not isinstance(target, list):
        return target in value
    return value == target
