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
| KYC_WEB_SESSION_HOURS     | 8                  | a console session's lifetime from sign-in            |
| KYC_WEB_LOGIN_FAILURES    | 5                  | failed sign-ins per account per 15 min before 429    |
| KYC_WEB_LOGIN_FAILURES_ADDRESS | 20            | failed sign-ins per client address per 15 min        |
| KYC_WEB_CAPTURE_SESSIONS  | 8                  | capture steps filmed at once in one process          |
| KYC_WEB_CAPTURE_IDLE_S    | 30                 | a capture silent this long expires                   |
| KYC_WEB_CAPTURE_MAX_FPS   | 10                 | most frames a second a capture session takes         |
| KYC_WEB_CAPTURE_FRAME_BYTES | 2097152 (2 MiB)  | largest capture frame (JPEG or PNG)                  |
| KYC_WEB_CAPTURE_FRAME_SIDE| 1280               | largest frame side of the capture page's frames      |
| KYC_WEB_CAPTURE_MAX_FRAMES| 300                | frames per step of the capture page                  |
| KYC_WEB_CAPTURE_RECORDING_BYTES | 33554432 (32 MiB) | largest selfie recording the capture page uploads |
| KYC_WEB_CAPTURE_LIFETIME  | 900                | seconds a capture page's URL stays valid             |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from workers.config import ConfigError, WorkerConfig


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
    session_hours: float = 8.0
    login_failures: int = 5
    login_failures_address: int = 20
    capture_max_sessions: int = 8
    capture_idle_s: float = 30.0
    capture_max_fps: float = 10.0
    capture_max_frame_bytes: int = 2 * 1024 * 1024
    capture_max_frame_side: int = 1280
    capture_max_frames: int = 300
    capture_max_recording_bytes: int = 32 * 1024 * 1024
    capture_lifetime_s: float = 900.0

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise ConfigError(f"KYC_WEB_PORT: {self.port} is not a TCP port")
        if self.max_upload_bytes <= 0:
            raise ConfigError("KYC_WEB_MAX_UPLOAD_BYTES: must be positive")
        if self.signature_tolerance_s <= 0 or self.idempotency_ttl_s <= 0:
            raise ConfigError("KYC_WEB_SIGNATURE_TOLERANCE and KYC_WEB_IDEMPOTENCY_HOURS: must be positive")
        if self.session_hours <= 0 or self.login_failures <= 0 or self.login_failures_address <= 0:
            raise ConfigError("KYC_WEB_SESSION_HOURS, KYC_WEB_LOGIN_FAILURES(_ADDRESS): must be positive")
        if min(self.capture_max_sessions, self.capture_idle_s, self.capture_max_fps, self.capture_max_frame_bytes,
               self.capture_max_frame_side, self.capture_max_frames, self.capture_max_recording_bytes,
               self.capture_lifetime_s) <= 0:
            raise ConfigError("KYC_WEB_CAPTURE_*: must be positive")

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
                       session_hours=float(env.get("KYC_WEB_SESSION_HOURS", "8")),
                       login_failures=int(env.get("KYC_WEB_LOGIN_FAILURES", "5")),
                       login_failures_address=int(env.get("KYC_WEB_LOGIN_FAILURES_ADDRESS", "20")),
                       capture_max_sessions=int(env.get("KYC_WEB_CAPTURE_SESSIONS", "8")),
                       capture_idle_s=float(env.get("KYC_WEB_CAPTURE_IDLE_S", "30")),
                       capture_max_fps=float(env.get("KYC_WEB_CAPTURE_MAX_FPS", "10")),
                       capture_max_frame_bytes=int(env.get("KYC_WEB_CAPTURE_FRAME_BYTES", str(2 * 1024 * 1024))),
                       capture_max_frame_side=int(env.get("KYC_WEB_CAPTURE_FRAME_SIDE", "1280")),
                       capture_max_frames=int(env.get("KYC_WEB_CAPTURE_MAX_FRAMES", "300")),
                       capture_max_recording_bytes=int(env.get("KYC_WEB_CAPTURE_RECORDING_BYTES",
                                                               str(32 * 1024 * 1024))),
                       capture_lifetime_s=float(env.get("KYC_WEB_CAPTURE_LIFETIME", "900")))
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
