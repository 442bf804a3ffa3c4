"""Worker settings, read once from the environment into a frozen `WorkerConfig`.

Every variable is documented in docs/workers.md. Nothing here talks to Redis or loads models.

| variable                    | default                      | meaning                                         |
|-----------------------------|------------------------------|-------------------------------------------------|
| KYC_REDIS_URL               | redis://127.0.0.1:6379/0     | Redis holding the queues and the case store     |
| KYC_KEY_PREFIX              | kyc:                         | prefix of every key the store writes            |
| KYC_VERIFY_QUEUE            | kyc-verify                   | RQ queue of verification jobs                   |
| KYC_DELIVERY_QUEUE          | kyc-deliver                  | RQ queue of webhook deliveries                  |
| KYC_MEDIA_ROOTS             | (none: required)             | comma-separated local folders / URI prefixes    |
| KYC_WEBHOOK_SECRET          | (none: required)             | HMAC-SHA256 key of the webhook signature        |
| KYC_JOB_TIMEOUT             | 300                          | seconds one verification may run                |
| KYC_JOB_RETRIES             | 2                            | re-runs after an infrastructure failure         |
| KYC_JOB_RETRY_BACKOFF       | 5,30                         | seconds before each of those re-runs            |
| KYC_DELIVERY_BACKOFF        | 10,30,60,300,900,1800,3600   | seconds between webhook tries (last repeats)    |
| KYC_DELIVERY_MAX_TRIES      | 30                           | webhook tries before giving up                  |
| KYC_DELIVERY_TIMEOUT        | 10                           | seconds one webhook POST may take               |
| KYC_MAX_ATTEMPTS            | 3                            | customer attempts per case                      |
| KYC_RETENTION_HOURS         | 168                          | media kept this long after the final outcome    |
| KYC_REVIEW_DEADLINE_HOURS   | 72                           | manual review deadline after submission         |
| KYC_MAX_MEDIA_BYTES         | 536870912 (512 MiB)          | largest media file accepted                     |
| KYC_TMP_DIR                 | system temp folder           | where remote media is copied for decoding       |
| KYC_WORKER_CLASS            | prefork                      | `prefork` (supervised rq SimpleWorker processes |
|                             |                              | forked once), `fork` (rq Worker), `simple`      |
| KYC_WORKER_PROCESSES        | 1                            | prefork: worker processes (one per core)        |
| KYC_HARD_TIMEOUT_GRACE      | 30                           | prefork: seconds past a job's timeout before    |
|                             |                              | its process is killed                           |
| KYC_MAINTENANCE_INTERVAL    | 60                           | seconds between registry cleanup, retention and |
|                             |                              | escalation passes of a worker                   |
| KYC_RESULT_TTL              | 86400                        | seconds rq keeps job results (the store keeps   |
|                             |                              | verdicts for good)                              |
| KYC_WARMUP                  | 1                            | verify one generated sample before taking jobs  |
| KYC_CALLBACK_HOSTS          | (none: any public host)      | callback host names allowed, comma-separated:   |
|                             |                              | exact names or `*.suffix` (subdomains)          |
| KYC_CALLBACK_ALLOW_NETWORKS | (none)                       | CIDRs a callback may reach although not public  |
|                             |                              | (on-premise receivers, tests: 127.0.0.1/32);    |
|                             |                              | cloud metadata addresses stay refused           |
| KYC_MAX_REQUEST_BYTES       | 65536                        | largest request JSON, checked before parsing    |
| KYC_MAX_REQUEST_DEPTH       | 16                           | deepest nesting of the request JSON, checked    |
|                             |                              | before parsing                                  |
| KYC_CLOCK_SKEW              | 300                          | seconds a client's `submitted_at` may be ahead  |
| KYC_MAX_REQUEST_AGE_HOURS   | 168                          | oldest `submitted_at` taken as given            |
| KYC_FACE_BACKEND            | insightface                  | face backend of the workers' Verifier:          |
|                             |                              | `insightface` (non-commercial weights) or       |
|                             |                              | `opencv` (commercially usable weights)          |
| KYC_DRAIN_TIMEOUT           | 60                           | seconds a stopping worker (SIGTERM) lets its    |
|                             |                              | jobs in hand finish before killing them         |
| KYC_REDIS_BACKOFF_MAX       | 5                            | longest wait, in seconds, between two tries to  |
|                             |                              | reach an unreachable Redis (backoff cap)        |
| KYC_METRICS_PORT            | (none: off)                  | prefork: serve Prometheus metrics on this port  |
| KYC_METRICS_ADDR            | 0.0.0.0                      | address the metrics endpoint listens on         |
| KYC_REFUSALS_BEFORE_REVIEW  | 3                            | refusals in a row after which a person decides  |
|                             |                              | (the customer goes `in_review`)                 |
| KYC_ATTEMPT_COOLDOWN        | 0                            | seconds between an attempt's outcome and the    |
|                             |                              | customer's next attempt                         |
| KYC_VALIDITY_MONTHS         | 24                           | a verification expires after this (0: never)    |
| KYC_EXPIRE_WITH_DOCUMENT    | 1                            | ... or when the verified document expires       |
| KYC_REVERIFY_AFTER_VERIFIED | 1                            | a new attempt of a verified customer is a       |
|                             |                              | re-verification (1) or refused (0)              |
| KYC_REVOCATION_POLICY       | see REVOCATION_POLICY        | revocation reason=new_video|strong_authentication|
|                             |                              | comma-separated: what restores the access       |
| KYC_EVIDENCE_MAX_BYTES      | 131072 (128 KiB)             | largest evidence JPEG kept for reviewers        |
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from kycengine.errors import KycError
from kycengine.video import MAX_FILE_BYTES

from .states import Restore, RevocationReason

WORKER_CLASSES = ("prefork", "fork", "simple")
# What restores a revoked access, by revocation reason (workers.states.RevocationReason -> Restore):
# a reset code or a new administrator means someone else may hold the account, so a new video; a code
# the customer changed themselves needs only the bank's fresh strong authentication.
REVOCATION_POLICY = (("secret_code_reset", "new_video"), ("secret_code_changed", "strong_authentication"),
                     ("administrator_changed", "new_video"), ("adviser_revoked", "new_video"),
                     ("other", "new_video"))
FACE_BACKENDS = ("insightface", "opencv")  # kycengine.settings.Settings.face_backend


class ConfigError(KycError):
    """A worker setting is missing or has an impossible value."""

    code = "config_error"


@dataclass(frozen=True)
class WorkerConfig:
    """Everything a worker, the enqueue side and the review CLI need to agree on."""

    redis_url: str = "redis://127.0.0.1:6379/0"
    key_prefix: str = "kyc:"
    verify_queue: str = "kyc-verify"
    delivery_queue: str = "kyc-deliver"
    media_roots: tuple[str, ...] = ()
    webhook_secret: str | None = field(default=None, repr=False)
    job_timeout_s: int = 300
    job_retries: int = 2
    job_retry_backoff_s: tuple[int, ...] = (5, 30)
    delivery_backoff_s: tuple[int, ...] = (10, 30, 60, 300, 900, 1800, 3600)
    delivery_max_tries: int = 30
    delivery_timeout_s: float = 10.0
    max_attempts: int = 3
    retention_s: int = 168 * 3600
    review_deadline_hours: float = 72.0
    max_media_bytes: int = MAX_FILE_BYTES
    tmp_dir: str | None = None
    worker_class: str = "prefork"
    processes: int = 1
    hard_timeout_grace_s: float = 30.0
    maintenance_interval_s: int = 60
    result_ttl_s: int = 86400
    warmup: bool = True
    callback_hosts: tuple[str, ...] = ()
    callback_allow_networks: tuple[str, ...] = ()
    max_request_bytes: int = 65536
    max_request_depth: int = 16
    clock_skew_s: float = 300.0
    max_request_age_s: float = 168 * 3600.0
    face_backend: str = "insightface"
    drain_timeout_s: float = 60.0
    redis_backoff_max_s: float = 5.0
    metrics_port: int | None = None
    metrics_addr: str = "0.0.0.0"
    refusals_before_review: int = 3
    attempt_cooldown_s: float = 0.0
    validity_months: int = 24
    expire_with_document: bool = True
    reverify_after_verified: bool = True
    revocation_policy: tuple[tuple[str, str], ...] = REVOCATION_POLICY
    evidence_max_bytes: int = 131072

    def __post_init__(self) -> None:
        if not self.key_prefix or any(c.isspace() for c in self.key_prefix):
            raise ConfigError("KYC_KEY_PREFIX: must be non-empty, without spaces")
        for name in ("verify_queue", "delivery_queue"):
            if not getattr(self, name):
                raise ConfigError(f"{name}: empty queue name")
        if self.verify_queue == self.delivery_queue:
            raise ConfigError("KYC_VERIFY_QUEUE and KYC_DELIVERY_QUEUE must differ")
        positive = ("job_timeout_s", "delivery_max_tries", "delivery_timeout_s", "max_attempts",
                    "review_deadline_hours", "max_media_bytes", "maintenance_interval_s", "processes",
                    "hard_timeout_grace_s", "max_request_bytes", "max_request_depth", "max_request_age_s",
                    "evidence_max_bytes")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name}: must be positive, got {getattr(self, name)}")
        for name in ("job_retries", "retention_s", "result_ttl_s", "clock_skew_s"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name}: must be >= 0, got {getattr(self, name)}")
        if not self.delivery_backoff_s or any(s < 0 for s in self.delivery_backoff_s):
            raise ConfigError("KYC_DELIVERY_BACKOFF: one or more seconds >= 0")
        if any(s < 0 for s in self.job_retry_backoff_s):
            raise ConfigError("KYC_JOB_RETRY_BACKOFF: seconds must be >= 0")
        if self.max_attempts > 1000:
            raise ConfigError("KYC_MAX_ATTEMPTS: at most 1000 (the request schema's limit)")
        for network in self.callback_allow_networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ConfigError(f"KYC_CALLBACK_ALLOW_NETWORKS: {network!r} is not a CIDR") from None
        for host in self.callback_hosts:
            if not host or host != host.strip().lower() or "*" in host.removeprefix("*."):
                raise ConfigError(f"KYC_CALLBACK_HOSTS: {host!r}: a lowercase host name or *.suffix")
        if self.worker_class not in WORKER_CLASSES:
            raise ConfigError(f"KYC_WORKER_CLASS: one of {', '.join(WORKER_CLASSES)}, "
                              f"got {self.worker_class!r}")
        if self.face_backend not in FACE_BACKENDS:
            raise ConfigError(f"KYC_FACE_BACKEND: one of {', '.join(FACE_BACKENDS)}, got {self.face_backend!r}")
        for name in ("drain_timeout_s", "redis_backoff_max_s"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name}: must be positive, got {getattr(self, name)}")
        if self.metrics_port is not None and not 0 < self.metrics_port < 65536:
            raise ConfigError(f"KYC_METRICS_PORT: a TCP port (1-65535), got {self.metrics_port}")
        if self.refusals_before_review <= 0:
            raise ConfigError("KYC_REFUSALS_BEFORE_REVIEW: must be positive")
        if self.attempt_cooldown_s < 0 or self.validity_months < 0:
            raise ConfigError("KYC_ATTEMPT_COOLDOWN and KYC_VALIDITY_MONTHS: must be >= 0")
        self._check_revocation_policy()

    def _check_revocation_policy(self) -> None:
        reasons = {r.value for r in RevocationReason}
        given = dict(self.revocation_policy)
        for reason, restore in self.revocation_policy:
            if reason not in reasons or restore not in {r.value for r in Restore}:
                raise ConfigError(f"KYC_REVOCATION_POLICY: {reason}={restore}: reasons are "
                                  f"{', '.join(sorted(reasons))}; each is new_video or strong_authentication")
        if set(given) != reasons:
            raise ConfigError(f"KYC_REVOCATION_POLICY: name every reason ({', '.join(sorted(reasons))})")

    def restore_after(self, reason: str) -> str:
        """What restores an access revoked for `reason` (a `states.Restore` value)."""
        return dict(self.revocation_policy)[reason]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> WorkerConfig:
        """Read the KYC_* variables (see the module docstring); unset ones keep their defaults."""
        env = os.environ if env is None else env
        d = cls()

        def text(name: str, default: str | None) -> str | None:
            value = env.get(name, "").strip()
            return value or default

        def number(name: str, default: float, kind: type = int) -> float:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            try:
                return kind(raw)
            except ValueError:
                raise ConfigError(f"{name}: {raw!r} is not a{'n integer' if kind is int else ' number'}") from None

        def seconds_list(name: str, default: tuple[int, ...]) -> tuple[int, ...]:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            try:
                return tuple(int(part) for part in raw.split(",") if part.strip())
            except ValueError:
                raise ConfigError(f"{name}: {raw!r} is not a comma-separated list of seconds") from None

        def items(name: str) -> tuple[str, ...]:
            return tuple(r.strip() for r in env.get(name, "").split(",") if r.strip())

        def flag(name: str, default: bool) -> bool:
            raw = text(name, None)
            return default if raw is None else raw.lower() not in ("0", "false", "no", "off")

        def policy() -> tuple[tuple[str, str], ...]:
            given = dict(d.revocation_policy)
            for item in items("KYC_REVOCATION_POLICY"):
                reason, _, restore = item.partition("=")
                given[reason.strip()] = restore.strip()
            return tuple(given.items())

        roots = items("KYC_MEDIA_ROOTS")
        return cls(
            redis_url=text("KYC_REDIS_URL", d.redis_url) or d.redis_url,
            key_prefix=text("KYC_KEY_PREFIX", d.key_prefix) or d.key_prefix,
            verify_queue=text("KYC_VERIFY_QUEUE", d.verify_queue) or d.verify_queue,
            delivery_queue=text("KYC_DELIVERY_QUEUE", d.delivery_queue) or d.delivery_queue,
            media_roots=roots,
            webhook_secret=env.get("KYC_WEBHOOK_SECRET") or None,
            job_timeout_s=int(number("KYC_JOB_TIMEOUT", d.job_timeout_s)),
            job_retries=int(number("KYC_JOB_RETRIES", d.job_retries)),
            job_retry_backoff_s=seconds_list("KYC_JOB_RETRY_BACKOFF", d.job_retry_backoff_s),
            delivery_backoff_s=seconds_list("KYC_DELIVERY_BACKOFF", d.delivery_backoff_s),
            delivery_max_tries=int(number("KYC_DELIVERY_MAX_TRIES", d.delivery_max_tries)),
            delivery_timeout_s=float(number("KYC_DELIVERY_TIMEOUT", d.delivery_timeout_s, float)),
            max_attempts=int(number("KYC_MAX_ATTEMPTS", d.max_attempts)),
            retention_s=int(number("KYC_RETENTION_HOURS", d.retention_s / 3600, float) * 3600),
            review_deadline_hours=float(number("KYC_REVIEW_DEADLINE_HOURS", d.review_deadline_hours,
                                               float)),
            max_media_bytes=int(number("KYC_MAX_MEDIA_BYTES", d.max_media_bytes)),
            tmp_dir=text("KYC_TMP_DIR", None),
            worker_class=(text("KYC_WORKER_CLASS", d.worker_class) or d.worker_class).lower(),
            maintenance_interval_s=int(number("KYC_MAINTENANCE_INTERVAL", d.maintenance_interval_s)),
            processes=int(number("KYC_WORKER_PROCESSES", d.processes)),
            hard_timeout_grace_s=float(number("KYC_HARD_TIMEOUT_GRACE", d.hard_timeout_grace_s, float)),
            result_ttl_s=int(number("KYC_RESULT_TTL", d.result_ttl_s)),
            warmup=(text("KYC_WARMUP", "1") or "1").lower() not in ("0", "false", "no", "off"),
            callback_hosts=tuple(h.lower() for h in items("KYC_CALLBACK_HOSTS")),
            callback_allow_networks=items("KYC_CALLBACK_ALLOW_NETWORKS"),
            max_request_bytes=int(number("KYC_MAX_REQUEST_BYTES", d.max_request_bytes)),
            max_request_depth=int(number("KYC_MAX_REQUEST_DEPTH", d.max_request_depth)),
            clock_skew_s=float(number("KYC_CLOCK_SKEW", d.clock_skew_s, float)),
            max_request_age_s=float(number("KYC_MAX_REQUEST_AGE_HOURS", d.max_request_age_s / 3600, float))
            * 3600,
            face_backend=(text("KYC_FACE_BACKEND", d.face_backend) or d.face_backend).lower(),
            drain_timeout_s=float(number("KYC_DRAIN_TIMEOUT", d.drain_timeout_s, float)),
            redis_backoff_max_s=float(number("KYC_REDIS_BACKOFF_MAX", d.redis_backoff_max_s, float)),
            metrics_port=int(number("KYC_METRICS_PORT", 0)) or None,
            metrics_addr=text("KYC_METRICS_ADDR", d.metrics_addr) or d.metrics_addr,
            refusals_before_review=int(number("KYC_REFUSALS_BEFORE_REVIEW", d.refusals_before_review)),
            attempt_cooldown_s=float(number("KYC_ATTEMPT_COOLDOWN", d.attempt_cooldown_s, float)),
            validity_months=int(number("KYC_VALIDITY_MONTHS", d.validity_months)),
            expire_with_document=flag("KYC_EXPIRE_WITH_DOCUMENT", d.expire_with_document),
            reverify_after_verified=flag("KYC_REVERIFY_AFTER_VERIFIED", d.reverify_after_verified),
            revocation_policy=policy(),
            evidence_max_bytes=int(number("KYC_EVIDENCE_MAX_BYTES", d.evidence_max_bytes)),
        )

    def with_(self, **changes: object) -> WorkerConfig:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def review_deadline_s(self) -> float:
        """The manual review deadline in seconds."""
        return self.review_deadline_hours * 3600

    def secret_bytes(self) -> bytes:
        """The webhook HMAC key; raises ConfigError when it is missing or too short to be safe."""
        secret = self.webhook_secret
        if not secret:
            raise ConfigError("KYC_WEBHOOK_SECRET is not set: webhook deliveries cannot be signed")
        if len(secret.encode()) < 16:
            raise ConfigError("KYC_WEBHOOK_SECRET: use at least 16 bytes (32 random bytes recommended)")
        return secret.encode()

    def check_worker_ready(self) -> None:
        """What a worker needs before taking jobs: a signing secret and at least one media root."""
        self.secret_bytes()
        if not self.media_roots:
            raise ConfigError("KYC_MEDIA_ROOTS is not set: every media URI would be refused")
