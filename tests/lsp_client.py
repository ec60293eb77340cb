"""A minimal LSP client: JSON-RPC 2.0 with Content-Length framing over a process's stdio.

Written from the protocol, not from pygls, so that the server is tested by an independent
client, as an editor would talk to it.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


class LspClient:
    def __init__(self, command: list[str], cwd: Path) -> None:
        self.process = subprocess.Popen(
            command, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self._messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self._next_id = 0
        self.notifications: list[dict[str, Any]] = []  # received, oldest first
        assert self.process.stdout is not None
        threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True).start()

    # -- wire --------------------------------------------------------------------------------

    def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        assert self.process.stdin is not None
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def _read(self, stream: IO[bytes]) -> None:
        while True:
            headers = {}
            while True:
                line = stream.readline()
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode("ascii").partition(":")
                headers[name.strip().lower()] = value.strip()
            self._messages.put(json.loads(stream.read(int(headers["content-length"]))))

    def _receive(self, deadline: float) -> dict[str, Any]:
        message = self._messages.get(timeout=max(deadline - time.monotonic(), 0.001))
        if "method" in message and "id" in message:  # a request from the server: accept it
            self._send({"id": message["id"], "result": None})
        elif "method" in message:
            self.notifications.append(message)
        return message

    # -- API ---------------------------------------------------------------------------------

    def request(self, method: str, params: Any, timeout: float = 30) -> Any:
        self._next_id += 1
        request_id = self._next_id
        self._send({"id": request_id, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        while True:
            message = self._receive(deadline)
            if message.get("id") == request_id and "method" not in message:
                assert "error" not in message, message["error"]
                return message["result"]

    def notify(self, method: str, params: Any) -> None:
        self._send({"method": method, "params": params})

    def wait_for(
        self, method: str, where: Callable[[Any], bool] = lambda _: True, timeout: float = 30
    ) -> Any:
        """The params of the first notification of ``method`` not seen before that satisfies
        ``where``; earlier ones that do not are dropped."""
        deadline = time.monotonic() + timeout
        while True:
            while self.notifications:
                message = self.notifications.pop(0)
                if message["method"] == method and where(message["params"]):
                    return message["params"]
            self._receive(deadline)

    def close(self) -> int:
        """shutdown, then exit: the server's exit status."""
        self.request("shutdown", None)
        self.notify("exit", None)
        return self.process.wait(timeout=10)

    def kill(self) -> None:
        """Stop the server if it is still running. (Its stdout is left to the reader thread, a
        daemon: closing it under a blocked read would wait for that read.)"""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.process.stdin is not None:
            self.process.stdin.close()


def apply_edits(text: str, edits: list[dict[str, Any]]) -> str:
    """Apply LSP TextEdits (positions in UTF-16 code units, as negotiated by default)."""
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(position: dict[str, int]) -> int:
        if position["line"] >= len(lines):
            return len(text)
        line = lines[position["line"]]
        units = 0
        for index, char in enumerate(line):
            if units >= position["character"]:
                return starts[position["line"]] + index
            units += 2 if ord(char) > 0xFFFF else 1
        return starts[position["line"]] + len(line)

    spans = [(offset(e["range"]["start"]), offset(e["range"]["end"]), e["newText"]) for e in edits]
    for start, end, new in sorted(spans, reverse=True):
        text = text[:start] + new + text[end:]
    return text
