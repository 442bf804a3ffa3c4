"""What the worker fault tests drive: a private redis-server (append-only file), `kyc worker` processes,
a webhook receiver, and the process tree read from /proc.

Used by tests/test_worker_faults.py and benchmarks/outage.py.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from workers import delivery
from workers.status_events import EVENT as STATUS_EVENT

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(condition: Callable[[], Any], timeout: float, what: str, poll: float = 0.05) -> Any:
    """Poll `condition` until it returns something true; AssertionError naming `what` at the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(poll)


# ---- redis-server ------------------------------------------------------------------------------

class RedisServer:
    """A redis-server of our own on a free port, persisted to an append-only file (fsync always)."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self.binary, self.folder, self.port = binary, folder, port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.proc = subprocess.Popen([self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--dir", str(self.folder), "--appendonly", "yes", "--appendfsync", "always",
                                      "--save", ""], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self.answers, 10, "redis-server to start")
        return self

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL: no shutdown, nothing saved but what the append-only file already holds."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None


# ---- webhook receiver --------------------------------------------------------------------------

@dataclass(frozen=True)
class Post:
    """One POST the receiver got."""

    at: float
    case_id: str
    delivery_id: str
    event: str
    signature_ok: bool
    answered: int


class Receiver:
    """http.server in a thread: checks each POST's signature; answers 503 to the first verification
    POST of the cases in `refuse_first`, 200 to the rest (401 to a bad signature). Customer status
    events are kept apart (`status_posts`)."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.port = free_port()
        self.posts: list[Post] = []
        self.refuse_first: set[str] = set()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                ok = delivery.verify_signature(receiver.secret, body, self.headers.get("X-KYC-Signature"))
                case_id = json.loads(body).get("case_id", "")
                status_event = self.headers.get("X-KYC-Event", "") == STATUS_EVENT
                with receiver.lock:
                    code = 200 if ok else 401
                    if ok and case_id in receiver.refuse_first and not status_event:
                        receiver.refuse_first.discard(case_id)
                        code = 503
                    receiver.posts.append(Post(time.time(), case_id, self.headers.get("X-KYC-Delivery", ""),
                                               self.headers.get("X-KYC-Event", ""), ok, code))
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/kyc/webhook"

    def for_case(self, case_id: str) -> list[Post]:
        with self.lock:
            return [p for p in self.posts if p.case_id == case_id and p.event != STATUS_EVENT]

    def status_posts(self, case_id: str) -> list[Post]:
        """The customer status events about a case."""
        with self.lock:
            return [p for p in self.posts if p.case_id == case_id and p.event == STATUS_EVENT]

    def acknowledged(self, case_id: str) -> list[Post]:
        return [p for p in self.for_case(case_id) if p.answered == 200]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# ---- processes ---------------------------------------------------------------------------------

def _stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, state letter) of a process, None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()  # after "pid (command) "
    return int(fields[1]), fields[0]


def alive(pid: int) -> bool:
    """Running (a zombie, dead but not yet reaped, does not count)."""
    stat = _stat(pid)
    return stat is not None and stat[1] not in ("Z", "X")


def descendants(pid: int) -> list[int]:
    """Every live process below `pid`, from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat is not None and stat[1] not in ("Z", "X"):
                parents.setdefault(stat[0], []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def children(pid: int) -> list[int]:
    return [p for p in descendants(pid) if (_stat(p) or (0, ""))[0] == pid]


class WorkerProcess:
    """`kyc worker` started as an operator would, its log in a file; by default with the scripted
    verifier (`tests.fault_verifier`), with `module="kycengine"` with the real engine."""

    def __init__(self, env: dict[str, str], log: Path, *args: str, module: str = "tests.fault_verifier") -> None:
        self.log = log
        self.seen: set[int] = set()
        self.file = open(log, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", module, "worker", *args], cwd=ROOT,
                                     env={**os.environ, "PYTHONPATH": str(ROOT), **env}, stdout=self.file,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def tree(self) -> list[int]:
        """The supervisor's live descendants now (remembered, for `close`)."""
        found = descendants(self.pid)
        self.seen.update(found)
        return found

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def signal(self, signum: int) -> None:
        os.kill(self.pid, signum)

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout=timeout)

    def close(self) -> None:
        """Kill whatever is left of the tree (a failed test's leftovers)."""
        for pid in [self.pid, *descendants(self.pid), *(p for p in self.seen if alive(p))]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=10)
        finally:
            self.file.close()
