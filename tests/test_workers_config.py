"""Worker settings, webhook signatures, callback URL syntax and media confinement (no Redis needed)."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path
from typing import Any

import pytest

from kycengine.errors import InvalidMedia, InvalidRequest, PathNotAllowed
from tests.workers_support import SECRET, ScriptedVerifier
from workers import delivery, egress, media
from workers.config import ConfigError, WorkerConfig
from workers.intake import check_submitted_at
from workers.store import iso
from workers.worker import run_worker


def test_config_from_env_and_refusals(tmp_path: Path) -> None:
    config = WorkerConfig.from_env({"KYC_MEDIA_ROOTS": f"{tmp_path}, s3://bucket/uploads",
                                    "KYC_WEBHOOK_SECRET": SECRET, "KYC_DELIVERY_BACKOFF": "1,2,3",
                                    "KYC_RETENTION_HOURS": "0.5", "KYC_WORKER_CLASS": "SIMPLE"})
    assert config.media_roots == (str(tmp_path), "s3://bucket/uploads")
    assert config.delivery_backoff_s == (1, 2, 3) and config.retention_s == 1800
    assert config.worker_class == "simple" and config.review_deadline_hours == 72
    assert SECRET not in repr(config)
    config.check_worker_ready()
    with pytest.raises(ConfigError, match="KYC_WEBHOOK_SECRET"):
        WorkerConfig.from_env({"KYC_MEDIA_ROOTS": str(tmp_path)}).check_worker_ready()
    with pytest.raises(ConfigError, match="16 bytes"):
        WorkerConfig(webhook_secret="short", media_roots=(str(tmp_path),)).check_worker_ready()
    with pytest.raises(ConfigError, match="KYC_MEDIA_ROOTS"):
        WorkerConfig(webhook_secret=SECRET).check_worker_ready()
    with pytest.raises(ConfigError, match="KYC_JOB_TIMEOUT"):
        WorkerConfig.from_env({"KYC_JOB_TIMEOUT": "soon"})
    with pytest.raises(ConfigError):
        WorkerConfig.from_env({"KYC_WORKER_CLASS": "threads"})
    with pytest.raises(ConfigError):  # a worker refuses to start without a secret
        run_worker(WorkerConfig(media_roots=(str(tmp_path),)), burst=True, verifier_factory=ScriptedVerifier)


def test_signature_sign_and_verify() -> None:
    body = delivery.encode_body({"case_id": "c", "status": "approved"})
    header = delivery.sign(SECRET.encode(), body, timestamp=1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    assert delivery.verify_signature(SECRET, body, header, now=1_700_000_100)
    assert not delivery.verify_signature(SECRET, body + b" ", header, now=1_700_000_100)
    assert not delivery.verify_signature("another-secret-0123456789", body, header, now=1_700_000_100)
    assert not delivery.verify_signature(SECRET, body, header, now=1_700_000_000 + 301)  # stale: replay
    assert not delivery.verify_signature(SECRET, body, None)
    assert not delivery.verify_signature(SECRET, body, "t=abc,v1=00")
    rotated = header + ",v1=" + "0" * 64
    assert delivery.verify_signature(SECRET, body, rotated, now=1_700_000_000)


@pytest.mark.parametrize("url", ["ftp://bank.example/hook", "file:///etc/passwd", "javascript:alert(1)",
                                 "http://", "https://user:pw@bank.example/", "http://bank.example:99999/",
                                 "", 42, "http://bank example/"])
def test_callback_urls_are_http_only(url: Any) -> None:
    with pytest.raises(InvalidRequest):
        egress.check_syntax(url)


def test_callback_url_accepted() -> None:
    assert egress.check_syntax("https://bank.example:8443/kyc?x=1")


def test_media_confinement(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    outside = tmp_path / "outside.mp4"
    outside.write_bytes(b"secret")
    good = root / "good.mp4"
    good.write_bytes(b"video")
    (root / "empty.mp4").write_bytes(b"")
    (root / "escape.mp4").symlink_to(outside)
    (root / "inside-link.mp4").symlink_to(good)
    big = root / "big.mp4"
    subprocess.run(["truncate", "-s", "2G", str(big)], check=True)  # sparse: no disk used
    config = WorkerConfig(media_roots=(str(root),), max_media_bytes=64 * 1024 * 1024)

    with media.open_media([str(good), f"file://{root}/inside-link.mp4"], config) as paths:
        assert paths == [good.resolve(), good.resolve()]
    refused = {str(outside): PathNotAllowed, f"{root}/../outside.mp4": PathNotAllowed,
               "file:///etc/passwd": PathNotAllowed, str(root / "escape.mp4"): PathNotAllowed,
               "good.mp4": PathNotAllowed, "file://otherhost/etc/passwd": PathNotAllowed,
               "ftp://host/x.mp4": PathNotAllowed, str(root / "missing.mp4"): InvalidMedia,
               str(root / "empty.mp4"): InvalidMedia, str(big): InvalidMedia, str(root / "sub"): InvalidMedia,
               f"{root}/good.mp4\x00.txt": PathNotAllowed}
    for uri, error in refused.items():
        with pytest.raises(error):
            with media.open_media([uri], config):
                pass
    with pytest.raises(InvalidMedia, match="byte limit"):
        media.check_local_file(big, config)
    assert not media.delete_media(str(outside), config) and outside.exists()  # never outside the roots


def test_remote_media_through_fsspec(tmp_path: Path) -> None:
    import fsspec

    fs = fsspec.filesystem("memory")
    fs.pipe("/kyc-uploads/a.mp4", b"x" * 1000)
    fs.pipe("/kyc-uploads/empty.mp4", b"")
    fs.pipe("/other/b.mp4", b"y" * 10)
    config = WorkerConfig(media_roots=("memory://kyc-uploads",), max_media_bytes=500, tmp_dir=str(tmp_path))
    with pytest.raises(InvalidMedia, match="limit"):
        with media.open_media(["memory://kyc-uploads/a.mp4"], config):
            pass
    config = config.with_(max_media_bytes=10_000)
    with media.open_media(["memory://kyc-uploads/a.mp4"], config) as paths:
        copy = paths[0]
        assert copy.read_bytes() == b"x" * 1000 and copy.suffix == ".mp4"
    assert not copy.exists()  # the temporary copy is gone after the job
    for uri, error in {"memory://other/b.mp4": PathNotAllowed,
                       "memory://kyc-uploads/../other/b.mp4": PathNotAllowed,
                       "memory://kyc-uploads/none.mp4": InvalidMedia,
                       "memory://kyc-uploads/empty.mp4": InvalidMedia}.items():
        with pytest.raises(error):
            with media.open_media([uri], config):
                pass
    assert media.delete_media("memory://kyc-uploads/a.mp4", config)
    assert not fs.exists("/kyc-uploads/a.mp4")


def test_new_settings_from_env_and_refusals() -> None:
    config = WorkerConfig.from_env({"KYC_CALLBACK_HOSTS": "Bank.example, *.bank.example",
                                    "KYC_CALLBACK_ALLOW_NETWORKS": "10.0.0.0/8,fd00::/8",
                                    "KYC_MAX_REQUEST_BYTES": "4096", "KYC_MAX_REQUEST_DEPTH": "4",
                                    "KYC_CLOCK_SKEW": "60", "KYC_MAX_REQUEST_AGE_HOURS": "24"})
    assert config.callback_hosts == ("bank.example", "*.bank.example")
    assert config.callback_allow_networks == ("10.0.0.0/8", "fd00::/8")
    assert (config.max_request_bytes, config.max_request_depth) == (4096, 4)
    assert config.clock_skew_s == 60 and config.max_request_age_s == 24 * 3600
    defaults = WorkerConfig()
    assert (defaults.max_request_bytes, defaults.max_request_depth, defaults.clock_skew_s) == (65536, 16, 300)
    assert defaults.callback_hosts == () and defaults.callback_allow_networks == ()
    for env in ({"KYC_CALLBACK_ALLOW_NETWORKS": "localhost"}, {"KYC_CALLBACK_HOSTS": "bank.*"},
                {"KYC_MAX_REQUEST_DEPTH": "0"}, {"KYC_MAX_REQUEST_BYTES": "-1"}):
        with pytest.raises(ConfigError):
            WorkerConfig.from_env(env)


def test_store_times_never_overflow() -> None:
    last = dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.timezone.utc).timestamp()
    assert iso(last + 72 * 3600) == "9999-12-31T23:59:59+00:00"  # a deadline past year 9999
    assert iso(float("inf")) == "9999-12-31T23:59:59+00:00" and iso(float("nan")).startswith("9999")
    assert iso(-1e18).startswith("0001-01-0")
    assert iso(0) == "1970-01-01T00:00:00+00:00"


@pytest.mark.parametrize(("given", "kept"), [
    (None, False), (dt.datetime(9999, 12, 31, 23, 59, 59), False), (dt.datetime.min, False),
    (dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc), False), (dt.datetime(2024, 5, 1, 9, 59, 0), True),
    (dt.datetime(2024, 5, 1, 12, 4, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))), True),
    (dt.datetime(2024, 5, 1, 10, 10, 0, tzinfo=dt.timezone.utc), False)])
def test_client_clock_is_range_checked(given: dt.datetime | None, kept: bool) -> None:
    now = dt.datetime(2024, 5, 1, 10, 0, 0, tzinfo=dt.timezone.utc).timestamp()
    used, note = check_submitted_at(given, now, WorkerConfig())
    if kept:
        assert note is None and used.timestamp() < now + 300
    else:
        assert used.timestamp() == now and used.tzinfo is not None
        assert (note is None) == (given is None)
