"""Shared fixtures: a `kyc` runner, paths to shipped data, the generator's frames before encoding, a
real Redis for worker tests, a per-test worker environment on it, and a private AOF Redis; and the
numbers test modules measure, printed in the run's summary (`measured`)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from redis import Redis

from kycengine import video
from tests.workers_support import Env, ScriptedVerifier, cleanup, free_port, make_config
from workers.context import install

ROOT = Path(__file__).resolve().parents[1]
SPECIMENS = ROOT.parent / "shared" / "data" / "specimens"
MEASURES = pytest.StashKey[dict[str, dict[str, Any]]]()


def measured(config: pytest.Config, title: str, values: dict[str, Any]) -> None:
    """Keep what a test module measured for the run's summary; a pytest-xdist worker sends it on to
    the process that prints the summary (`workeroutput`, read back in `pytest_testnodedown`)."""
    config.stash.setdefault(MEASURES, {})[title] = values
    output = getattr(config, "workeroutput", None)
    if output is not None:
        output.setdefault("measures", {})[title] = values


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    for title, values in getattr(node, "workeroutput", {}).get("measures", {}).items():
        measured(node.config, title, values)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    for title, values in config.stash.get(MEASURES, {}).items():
        terminalreporter.write_sep("-", title)
        for name, value in values.items():
            terminalreporter.write_line(f"{name}: {json.dumps(value, sort_keys=True)}")


def run_kyc(*args: str, env: dict[str, str] | None = None, prefix: tuple[str, ...] = (),
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a subprocess, as a user would."""
    return subprocess.run([*prefix, sys.executable, "-m", "kycengine", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


@pytest.fixture(scope="session")
def specimens() -> Path:
    """The ICAO specimen images kept outside the project; tests using them skip without it."""
    if not SPECIMENS.is_dir():
        pytest.skip("../shared/data/specimens is absent")
    return SPECIMENS


@pytest.fixture
def written_frames(monkeypatch: pytest.MonkeyPatch) -> list[list[np.ndarray]]:
    """The frames of every video written in the test, one list per video, kept before encoding
    (libx264's rate control does not repeat bit for bit, so encoded files cannot be compared)."""
    encode = video.write
    runs: list[list[np.ndarray]] = []

    def keep(path, frames, fps, **options):  # type: ignore[no-untyped-def]
        runs.append(list(frames))
        return encode(path, runs[-1], fps, **options)

    monkeypatch.setattr(video, "write", keep)
    return runs


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis that answers: the one on 127.0.0.1:6379, else a private redis-server we start."""
    if _answers(6379):
        yield "redis://127.0.0.1:6379/15"
        return
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("no Redis answers on 127.0.0.1:6379 and redis-server is not installed")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    folder = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(folder)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not _answers(port):
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("redis-server did not start")
        time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/15"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def env(redis_url: str, tmp_path: Path) -> Iterator[Env]:
    """A worker environment: private key prefix, queues and media root; everything deleted after."""
    token = f"w{uuid.uuid4().hex[:10]}"
    root = tmp_path / "media"
    root.mkdir()
    config = make_config(redis_url, token, root)
    redis = Redis.from_url(redis_url)
    e = Env(config, redis, root, token, tmp_path)
    install(config, ScriptedVerifier, preload=False)
    try:
        yield e
    finally:
        for receiver in e.receivers:
            receiver.stop()
        cleanup(redis, e.config, token)


@pytest.fixture
def aof_redis(tmp_path: Path) -> Iterator[Callable[[], None]]:
    """A private redis-server with AOF (fsync always); calling the fixture's value restarts it."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    folder = tmp_path / "redis-aof"
    folder.mkdir()
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        procs.append(subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
                                       "--appendonly", "yes", "--appendfsync", "always", "--save", ""],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 10
        while True:
            try:
                Redis(port=port, socket_timeout=1).ping()
                return
            except Exception:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def restart() -> None:
        procs[-1].kill()  # SIGKILL: no shutdown save, only the AOF
        procs[-1].wait(timeout=10)
        start()

    start()
    restart.url = f"redis://127.0.0.1:{port}/0"  # type: ignore[attr-defined]
    try:
        yield restart
    finally:
        for proc in procs:
            proc.kill()
            proc.wait(timeout=10)
