"""Drive headless Chromium from tests: open a page from disk and report what a reader would get.

One browser launch per page, spoken to over the DevTools protocol on a pipe
(`--remote-debugging-pipe`: commands on fd 3, replies on fd 4, NUL-terminated JSON), so a visit
returns the rendered DOM, every console error (uncaught exceptions, `console.error`, failed
loads, Content-Security-Policy refusals), every URL the page requested, and a screenshot.
Chromium's `--enable-logging=stderr` output was not used: it prints console messages without
their level and never mentions failed loads.

Regenerate the docs screenshot from any report with
`python -m tests.browser REPORT.html docs/report-screenshot.png`.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.store.atomic import write_atomic

BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome-stable", "google-chrome")
"""Executables tried, in order, on PATH."""
REQUIRE_ENV = "HARNESS_REQUIRE_BROWSER"
"""When this is `1` (CI sets it) a missing browser fails the browser tests instead of skipping."""
INSTALL_HINT = "install Chromium: `apt-get update && apt-get install -y chromium` (Debian/Ubuntu)"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--no-default-browser-check", "--disable-extensions", "--disable-sync",
         "--disable-background-networking", "--disable-component-update", "--hide-scrollbars",
         "--mute-audio", "--remote-debugging-pipe")
"""Headless, offline and quiet; root needs `--no-sandbox`."""
_PAGE_FACTS = """({
  dom: document.documentElement.outerHTML,
  brokenImages: Array.from(document.images)
    .filter(image => !image.complete || image.naturalWidth === 0)
    .map(image => image.alt || image.src.slice(0, 80)),
  scrollWidth: document.documentElement.scrollWidth,
})"""


class BrowserError(RuntimeError):
    """Chromium could not be driven (did not start, died, or did not answer in time)."""


@dataclass(frozen=True)
class PageVisit:
    """What one headless visit of a page saw."""

    dom: str
    """`document.documentElement.outerHTML` after the load event."""
    errors: tuple[str, ...]
    """Uncaught exceptions, `console.error`/`console.assert` calls and browser-logged errors."""
    requests: tuple[str, ...]
    """Every URL the page asked for, the page itself first."""
    broken_images: tuple[str, ...]
    """The alt text of every image that did not decode."""
    scroll_width: int
    """The page's width in CSS pixels (wider than the window means a horizontal scrollbar)."""
    screenshot: bytes
    """A PNG of the window (`width` x `height` pixels)."""


def find_chromium() -> str | None:
    """The path of a Chromium (or Chrome) executable on PATH, or None."""
    for name in BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def require_chromium() -> str:
    """Chromium's path; skip the test without one (fail when HARNESS_REQUIRE_BROWSER=1)."""
    binary = find_chromium()
    if binary is None:
        message = f"no headless browser ({', '.join(BROWSER_NAMES)}) on PATH; {INSTALL_HINT}"
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{message} ({REQUIRE_ENV}=1 requires it)", pytrace=False)
        pytest.skip(message)
    return binary


def visit(page: Path, binary: str, width: int = 1280, height: int = 2000,
          timeout: float = 60.0) -> PageVisit:
    """Open `page` from disk in headless Chromium at `width` x `height` and report the visit."""
    with (tempfile.TemporaryDirectory(prefix="chromium-") as profile,
          _DevTools(binary, Path(profile), timeout) as browser):
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.send("Target.attachToTarget",
                               {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.send(f"{domain}.enable", session=session)
        browser.send("Emulation.setDeviceMetricsOverride",
                     {"width": width, "height": height, "deviceScaleFactor": 1,
                      "mobile": False}, session=session)
        navigated = browser.send("Page.navigate", {"url": page.resolve().as_uri()},
                                 session=session)
        if navigated.get("errorText"):
            raise BrowserError(f"cannot open {page}: {navigated['errorText']}")
        browser.wait_for("Page.loadEventFired", session)
        facts = browser.send("Runtime.evaluate", {"expression": _PAGE_FACTS,
                                                  "returnByValue": True},
                             session=session)["result"]["value"]
        shot = browser.send("Page.captureScreenshot", {"format": "png"}, session=session)
        events = [event for event in browser.events if event.get("sessionId") == session]
    return PageVisit(dom=facts["dom"], errors=tuple(_errors(events)),
                     requests=tuple(event["params"]["request"]["url"] for event in events
                                    if event["method"] == "Network.requestWillBeSent"),
                     broken_images=tuple(facts["brokenImages"]),
                     scroll_width=int(facts["scrollWidth"]),
                     screenshot=base64.b64decode(shot["data"]))


def _errors(events: list[dict[str, Any]]) -> list[str]:
    found = []
    for event in events:
        method, params = event["method"], event.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            found.append(details.get("exception", {}).get("description") or details["text"])
        elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            found.append(" ".join(str(arg.get("value", arg.get("description", "")))
                                  for arg in params["args"]))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            entry = params["entry"]
            found.append(f"{entry['text']} ({entry.get('url', '')})")
    return found


class _DevTools:
    """A Chromium process and its DevTools pipe; events are kept in `events` as they arrive."""

    def __init__(self, binary: str, profile: Path, timeout: float) -> None:
        self.events: list[dict[str, Any]] = []
        self._deadline = time.monotonic() + timeout
        self._buffer = b""
        self._next_id = 0
        self._log = profile / "chromium.log"
        commands_in, self._commands = os.pipe()
        self._replies, replies_out = os.pipe()

        def wire() -> None:
            low_in = fcntl.fcntl(commands_in, fcntl.F_DUPFD, 10)
            low_out = fcntl.fcntl(replies_out, fcntl.F_DUPFD, 10)
            os.dup2(low_in, 3)
            os.dup2(low_out, 4)

        with open(self._log, "wb") as log:
            self._process = subprocess.Popen(
                [binary, *FLAGS, f"--user-data-dir={profile / 'data'}", "about:blank"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, pass_fds=(3, 4),
                preexec_fn=wire)
        os.close(commands_in)
        os.close(replies_out)

    def __enter__(self) -> _DevTools:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._process.poll() is None:
                self._write({"id": -1, "method": "Browser.close"})
                self._process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self._process.kill()
            self._process.wait()
        finally:
            os.close(self._commands)
            os.close(self._replies)

    def send(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None) -> dict[str, Any]:
        """Run one DevTools command and return its result (BrowserError if it failed)."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._write(message)
        while True:
            reply = self._read()
            if reply.get("id") == message["id"]:
                if "error" in reply:
                    raise BrowserError(f"{method} failed: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_for(self, method: str, session: str) -> None:
        """Wait until the event `method` arrives for `session`."""
        if any(event["method"] == method and event.get("sessionId") == session
               for event in self.events):
            return
        while True:
            reply = self._read()
            if "method" in reply:
                self.events.append(reply)
                if reply["method"] == method and reply.get("sessionId") == session:
                    return

    def _write(self, message: dict[str, Any]) -> None:
        os.write(self._commands, json.dumps(message).encode() + b"\0")

    def _read(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            remaining = self._deadline - time.monotonic()
            ready, _, _ = select.select([self._replies], [], [], max(remaining, 0))
            chunk = os.read(self._replies, 1 << 20) if ready else b""
            if not chunk:
                why = "did not answer in time" if not ready else "exited"
                log = self._log.read_text(errors="replace")[-2000:]
                raise BrowserError(f"chromium {why}; its log ends:\n{log}")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)


def main(argv: list[str]) -> int:
    """`python -m tests.browser PAGE.html OUT.png`: screenshot a page (1280 x 2000)."""
    if len(argv) != 2:
        print(main.__doc__, file=sys.stderr)
        return 2
    binary = find_chromium()
    if binary is None:
        print(f"no headless browser found; {INSTALL_HINT}", file=sys.stderr)
        return 1
    seen = visit(Path(argv[0]), binary)
    write_atomic(Path(argv[1]), lambda handle: handle.write(seen.screenshot))
    for error in seen.errors:
        print(f"console error: {error}", file=sys.stderr)
    return 1 if seen.errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
