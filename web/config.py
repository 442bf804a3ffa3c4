"""Web application settings, read once from the environment into a frozen `WebConfig`.

The worker settings (`workers.config.WorkerConfig`: Redis, key prefix, media roots, webhook secret)
are shared as they are; the variables below are the web application's own (docs/web.md lists them).

| variable                  | default            | meaning                                              |
|---------------------------|--------------------|------------------------------------------------------|
| KYC_WEB_HOST              | 127.0.0.1          | address `kyc serve` listens on                       |
| KYC_WEB_PORT              | 8080               | port `kyc serve` listens on                          |
| KYC_WEB_SECRET            | (none: required)   | key of the console's session cookies and CSRF tokens |
| KYC_WEB_UPLOAD_ROOT       | first local media  | folder (inside a media root) where uploaded videos   |
|                           | root + /uploads    | are written                                          |
| KYC_WEB_MAX_UPLOAD_BYTES  | 104857600 (100 MiB)| largest uploaded video                               |
| KYC_WEB_SECURE_COOKIES    | 1                  | `Secure` flag on cookies (0 only for plain-HTTP tests)|
| KYC_WEB_SIGNATURE_TOLERANCE| 300               | seconds a signed API request's timestamp may be off  |
| KYC_WEB_IDEMPOTENCY_HOURS | 24                 | how long an Idempotency-Key's answer is kept         |
| KYC_WEB_WORKER_METRICS_DIR| (none)             | workers' metrics folder on this host, added to       |
|                           |                    | /metrics (stage durations, jobs by outcome)          |
| KYC_WEB_CAPTURE_*         | see CaptureLimits  | live capture sessions' limits (web/capture)          |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from workers.config import ConfigError, WorkerConfig


@dataclass(frozen=True)
class CaptureLimits:
    """Limits of the live capture sessions (`web/capture`, docs/web.md): what one customer's browser
    may send, and how many sessions one process runs at once (each holds its frames in memory)."""

    lifetime_s: float = 900.0  # KYC_WEB_CAPTURE_LIFETIME: the capture URL's validity, from its opening
    silence_s: float = 20.0  # KYC_WEB_CAPTURE_SILENCE: a filming step with no frame this long expires
    max_sessions: int = 8  # KYC_WEB_CAPTURE_MAX_SESSIONS: steps being filmed at once (503 beyond)
    max_fps: float = 5.0  # KYC_WEB_CAPTURE_MAX_FPS: frames per second one session may send
    max_frames: int = 300  # KYC_WEB_CAPTURE_MAX_FRAMES: frames per step (then the step asks to start again)
    max_frame_bytes: int = 400 * 1024  # KYC_WEB_CAPTURE_MAX_FRAME_BYTES: largest JPEG frame (413 beyond)
    max_frame_side: int = 1280  # KYC_WEB_CAPTURE_MAX_FRAME_SIDE: largest frame width or height, in pixels

    def __post_init__(self) -> None:
        if min(self.lifetime_s, self.silence_s, self.max_fps) <= 0 or min(
                self.max_sessions, self.max_frames, self.max_frame_bytes) < 1 or not 64 <= self.max_frame_side <= 4096:
            raise ConfigError("KYC_WEB_CAPTURE_*: limits must be positive (frame side 64-4096 px)")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> CaptureLimits:
        """The `KYC_WEB_CAPTURE_*` variables (defaults for the ones not set)."""
        base = cls()

        def get(name: str, default: float) -> str:
            return env.get(f"KYC_WEB_CAPTURE_{name}") or str(default)

        return cls(lifetime_s=float(get("LIFETIME", base.lifetime_s)), silence_s=float(get("SILENCE", base.silence_s)),
                   max_sessions=int(get("MAX_SESSIONS", base.max_sessions)), max_fps=float(get("MAX_FPS", base.max_fps)),
                   max_frames=int(get("MAX_FRAMES", base.max_frames)),
                   max_frame_bytes=int(get("MAX_FRAME_BYTES", base.max_frame_bytes)),
                   max_frame_side=int(get("MAX_FRAME_SIDE", base.max_frame_side)))


@dataclass(frozen=True)
class WebConfig:
    """What `kyc serve` needs beyond the worker settings."""

    worker: WorkerConfig
    host: str = "127.0.0.1"
    port: int = 8080
    secret: str | None = field(default=None, repr=False)
    upload_root: str | None = None
    max_upload_bytes: int = 100 * 1024 * 1024
    secure_cookies: bool = True
    signature_tolerance_s: float = 300.0
    idempotency_ttl_s: int = 24 * 3600
    worker_metrics_dir: str | None = None
    capture: CaptureLimits = field(default_factory=CaptureLimits)

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise ConfigError(f"KYC_WEB_PORT: {self.port} is not a TCP port")
        if self.max_upload_bytes <= 0:
            raise ConfigError("KYC_WEB_MAX_UPLOAD_BYTES: must be positive")
        if self.signature_tolerance_s <= 0 or self.idempotency_ttl_s <= 0:
            raise ConfigError("KYC_WEB_SIGNATURE_TOLERANCE and KYC_WEB_IDEMPOTENCY_HOURS: must be positive")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> WebConfig:
        """Read the `KYC_*` worker variables and the `KYC_WEB_*` ones."""
        env = os.environ if env is None else env
        try:
            return cls(worker=WorkerConfig.from_env(env),
                       host=env.get("KYC_WEB_HOST", "127.0.0.1"),
                       port=int(env.get("KYC_WEB_PORT", "8080")),
                       secret=env.get("KYC_WEB_SECRET") or None,
                       upload_root=env.get("KYC_WEB_UPLOAD_ROOT") or None,
                       max_upload_bytes=int(env.get("KYC_WEB_MAX_UPLOAD_BYTES", str(100 * 1024 * 1024))),
                       secure_cookies=env.get("KYC_WEB_SECURE_COOKIES", "1") not in ("0", "false", "no"),
                       signature_tolerance_s=float(env.get("KYC_WEB_SIGNATURE_TOLERANCE", "300")),
                       idempotency_ttl_s=int(float(env.get("KYC_WEB_IDEMPOTENCY_HOURS", "24")) * 3600),
                       worker_metrics_dir=env.get("KYC_WEB_WORKER_METRICS_DIR") or None,
                       capture=CaptureLimits.from_env(env))
        except ValueError as exc:
            raise ConfigError(f"web settings: {exc}") from exc

    def with_(self, **changes: object) -> WebConfig:
        """A copy with some fields changed (tests, the CLI's overrides)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    def secret_bytes(self) -> bytes:
        """The console's signing key; refuses to run without one."""
        if not self.secret or len(self.secret) < 16:
            raise ConfigError("KYC_WEB_SECRET: required, at least 16 characters")
        return self.secret.encode()
