"""The one place that creates Redis clients: `connect(url, patient=...)`.

URLs: `redis://[[user]:password@]host:port/db`, `rediss://...` (TLS; redis-py's query parameters
`ssl_ca_certs`, `ssl_certfile`, `ssl_keyfile`, `ssl_cert_reqs`, `ssl_check_hostname`...),
`unix:///path/redis.sock?db=0`, and Redis Sentinel:
`redis+sentinel://[[user]:password@]host1:26379,host2:26379/service_name[/db][?query]`
(`rediss+sentinel://` for TLS to the master; `sentinel_password` / `sentinel_username` in the query
authenticate to the sentinels, the URL's own credentials to the master), through redis-py's
`redis.sentinel.Sentinel`, which follows a failover to the new master.

A *patient* client (workers) retries every command for as long as Redis stays unreachable, with
capped exponential backoff and jitter, so a Redis restart or failover of any length only pauses a
worker. A *brief* client (probes, metrics, the bank side) gives up after a few quick tries.
Every client of the process reports to one `Outage` tracker, which logs one line when Redis becomes
unreachable and one when it is back, and tells its listeners (metrics, worker re-registration).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, unquote

from redis import Redis
from redis.backoff import EqualJitterBackoff
from redis.connection import URL_QUERY_ARGUMENT_PARSERS
from redis.exceptions import ConnectionError, ReadOnlyError, TimeoutError
from redis.retry import Retry
from redis.sentinel import Sentinel

log = logging.getLogger(__name__)

SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel")
# A connection dropped or refused, a command timed out, the server still loading its data, or a
# demoted master answering READONLY after a failover: all pass when Redis (or its new master) is back.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (ConnectionError, TimeoutError, socket.timeout, ReadOnlyError)
BACKOFF_BASE_S = 0.05  # first retry after 50-100 ms: a dropped idle connection reconnects at once


class Outage:
    """Whether this process currently finds Redis unreachable; one log line per change of state.

    A failure that a single reconnection cures (an idle connection closed by the server) is not an
    outage; two failures in a row within one call are. It ends when a call that failed goes through.
    Thread-safe; shared by all clients of the process.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.down_since: float | None = None
        self.listeners: list[Callable[[bool, float], None]] = []
        os.register_at_fork(after_in_child=self._after_fork)

    def _after_fork(self) -> None:
        self._lock = threading.Lock()  # another thread may have held it at the fork

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def failed(self, error: BaseException, failures: int) -> None:
        """A command failed for the `failures`-th time in a row."""
        if failures < 2 or self.down_since is not None:
            return
        with self._lock:
            if self.down_since is not None:
                return
            self.down_since = time.monotonic()
        log.warning("redis unreachable (%s: %s), retrying [pid %d]", error.__class__.__name__, error, os.getpid())
        self._tell(False, 0.0)

    def succeeded(self) -> None:
        """A command went through."""
        if self.down_since is None:
            return
        with self._lock:
            if self.down_since is None:
                return
            lasted = time.monotonic() - self.down_since
            self.down_since = None
        log.warning("redis back after %.1f s [pid %d]", lasted, os.getpid())
        self._tell(True, lasted)

    def _tell(self, back: bool, lasted: float) -> None:
        for listener in list(self.listeners):
            try:
                listener(back, lasted)
            except Exception:  # a listener must never break a Redis call
                log.exception("outage listener failed")


OUTAGE = Outage()

_patience = threading.local()


def set_patience(limit_s: float | None) -> float | None:
    """From now on, patient clients of this thread give up a call after `limit_s` of failures
    (None: never); returns the previous limit. For a process that is stopping."""
    previous: float | None = getattr(_patience, "limit_s", None)
    _patience.limit_s = limit_s
    return previous


@contextlib.contextmanager
def impatient(limit_s: float) -> Iterator[None]:
    """Within this block, patient clients of this thread give up after `limit_s` of failures.

    For a worker's last words (registering its death, releasing locks) during an outage: they must
    not hold its exit for as long as Redis is down; what they leave expires by itself.
    """
    previous = set_patience(limit_s)
    try:
        yield
    finally:
        set_patience(previous)


class PatientRetry(Retry):
    """redis-py's Retry, forever, reporting to `OUTAGE`.

    redis-py's own `call_with_retry` loop has no hook for "this call succeeded after failures",
    which the outage log and the reconnect metric need; this is the same loop with that hook.
    """

    def __init__(self, backoff_max_s: float) -> None:
        super().__init__(EqualJitterBackoff(cap=backoff_max_s, base=BACKOFF_BASE_S), -1, TRANSIENT_ERRORS)

    def call_with_retry(self, do: Callable[[], Any], fail: Callable[..., Any],
                        is_retryable: Callable[[Exception], bool] | None = None,
                        with_failure_count: bool = False) -> Any:
        self._backoff.reset()
        failures = 0
        started = time.monotonic()
        while True:
            try:
                result = do()
            except self._supported_errors as error:
                if is_retryable and not is_retryable(error):
                    raise
                failures += 1
                if with_failure_count:
                    fail(error, failures)
                else:
                    fail(error)
                OUTAGE.failed(error, failures)
                limit = getattr(_patience, "limit_s", None)
                if limit is not None and time.monotonic() - started >= limit:
                    raise
                time.sleep(self._backoff.compute(failures))
            else:
                if failures:  # proof of a reconnection (a first try may just reuse a dead idle socket)
                    OUTAGE.succeeded()
                return result


def brief_retry() -> Retry:
    """Three quick retries (well under a second in all), then the error: for callers that must answer."""
    return Retry(EqualJitterBackoff(cap=0.5, base=BACKOFF_BASE_S), 3, TRANSIENT_ERRORS)


def connect(url: str, *, patient: bool = False, backoff_max_s: float = 5.0,
            socket_timeout_s: float | None = None) -> Redis:
    """A Redis client for `url` (see the module docstring for the schemes).

    `patient` (workers): every command is retried until Redis answers (backoff capped at
    `backoff_max_s`); no socket timeout of its own (rq sets one above its blocking dequeue).
    Otherwise a few quick tries, and `socket_timeout_s` (default 5 s) bounds each command.
    """
    options: dict[str, Any] = {
        "retry": PatientRetry(backoff_max_s) if patient else brief_retry(),
        "socket_connect_timeout": 5.0,
        "socket_keepalive": True,
        "health_check_interval": 30,
    }
    if socket_timeout_s is not None or not patient:
        options["socket_timeout"] = socket_timeout_s or 5.0
    scheme = url.split("://", 1)[0].lower()
    if scheme in SENTINEL_SCHEMES:
        return _sentinel_master(url, options)
    return Redis.from_url(url, **options)


def _sentinel_master(url: str, options: dict[str, Any]) -> Redis:
    """The master of a `redis+sentinel://` URL, followed across failovers by redis-py's Sentinel."""
    scheme, rest = url.split("://", 1)
    rest, _, query = rest.partition("?")
    netloc, _, path = rest.partition("/")
    userinfo, _, hostlist = netloc.rpartition("@")
    hosts = [_host_port(part) for part in hostlist.split(",") if part.strip()]
    parts = [unquote(p) for p in path.split("/") if p]
    if not hosts or not parts or len(parts) > 2:
        raise ValueError("sentinel URL: redis+sentinel://[[user]:password@]host:port[,host:port...]"
                         "/service_name[/db]")
    service = parts[0]
    kwargs = dict(options)
    sentinel_kwargs: dict[str, Any] = {k: v for k, v in options.items() if k.startswith("socket_")}
    sentinel_kwargs["retry"] = brief_retry()  # asking a sentinel: the master's pool retries as a whole
    for name, value in parse_qsl(query):
        if name in ("sentinel_password", "sentinel_username"):
            sentinel_kwargs[name.removeprefix("sentinel_")] = value
            continue
        parser: Callable[[str], Any] | None = URL_QUERY_ARGUMENT_PARSERS.get(name)  # type: ignore[assignment]
        kwargs[name] = parser(value) if parser else value
    if len(parts) == 2:
        kwargs["db"] = int(parts[1])
    if userinfo:
        user, has_password, password = userinfo.partition(":")
        if user:
            kwargs["username"] = unquote(user)
        if has_password:
            kwargs["password"] = unquote(password)
    if scheme.lower().startswith("rediss"):
        kwargs["ssl"] = True
    return Sentinel(hosts, sentinel_kwargs=sentinel_kwargs).master_for(service, redis_class=Redis, **kwargs)


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.strip().rpartition(":")
    if not host:
        host, port = port, "26379"
    return host.strip("[]"), int(port)
