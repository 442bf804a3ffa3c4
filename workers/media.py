"""Media URIs to local files, confined to the configured roots.

A request names its videos by URI: a local path (`/srv/kyc/uploads/a.mp4` or `file:///srv/...`) or
any fsspec URI (`s3://bucket/uploads/a.mp4`, `gs://...`, `memory://...`). A URI is used only when it
lies under one of `WorkerConfig.media_roots`:

* local paths are resolved with every symlink followed (`os.path.realpath`) and must then sit inside a
  resolved local root: `..` segments, symlinks pointing out and `file:///etc/passwd` are refused with
  PathNotAllowed before the file is even looked at;
* remote URIs must start with a configured URI prefix, after normalisation, and may not contain `..`
  segments; they are copied to a private temporary file (at most `max_media_bytes`, counted while
  copying, whatever the store claims) that is deleted when the `open_media` block ends.

A case owns the media it names first (`Store.claim_media`, keyed by the canonical URI that
`check_uri` returns): a request naming a file another case named before is refused with
MediaNotOwned (`media_not_owned`), and retention deletes a file only when no other attempt still
needs it and no other case owns it (see `retention`).

A missing file, a 0-byte file, something that is not a regular file or a file over the size limit
raises InvalidMedia. Network or storage outages raise whatever fsspec raises: an infrastructure error
that the job lets RQ retry.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

from kycengine.errors import InvalidMedia, PathNotAllowed

from .config import WorkerConfig

_CHUNK = 1 << 20


class MediaNotOwned(PathNotAllowed):
    """A media file that another case named first: a case uses only its own media."""

    code = "media_not_owned"


def _scheme(uri: str) -> str:
    head, sep, _ = uri.partition("://")
    return head.lower() if sep and head.replace("+", "").replace("-", "").replace(".", "").isalnum() else ""


def _local_roots(config: WorkerConfig) -> list[str]:
    roots = []
    for root in config.media_roots:
        if _scheme(root) == "file":
            root = unquote(urlsplit(root).path)
        if _scheme(root):
            continue
        roots.append(os.path.realpath(root))
    return roots


def _remote_roots(config: WorkerConfig) -> list[str]:
    return [r.rstrip("/") + "/" for r in config.media_roots if _scheme(r) not in ("", "file")]


def local_path(uri: str) -> str | None:
    """The filesystem path a URI names, or None when it is a remote URI."""
    scheme = _scheme(uri)
    if scheme == "file":
        parts = urlsplit(uri)
        if parts.netloc not in ("", "localhost"):
            raise PathNotAllowed(f"{uri!r}: file URIs on another host are not allowed")
        return unquote(parts.path)
    return None if scheme else uri


def _check_text(uri: object) -> str:
    if not isinstance(uri, str) or not uri:
        raise PathNotAllowed("media URI: must be a non-empty string")
    if "\x00" in uri or any(ord(c) < 32 for c in uri):
        raise PathNotAllowed("media URI: control characters are not allowed")
    if len(uri) > 4096:
        raise PathNotAllowed("media URI: longer than 4096 characters")
    return uri


def confine_local(path: str, config: WorkerConfig) -> Path:
    """The real path of `path` when it lies inside a local media root; raises PathNotAllowed."""
    if not os.path.isabs(path):
        raise PathNotAllowed(f"{path!r}: media paths must be absolute")
    real = os.path.realpath(path)
    for root in _local_roots(config):
        if real == root or real.startswith(root.rstrip(os.sep) + os.sep):
            return Path(real)
    raise PathNotAllowed(f"{path!r}: outside the allowed media roots")


def confine_remote(uri: str, config: WorkerConfig) -> str:
    """The normalised remote URI when it lies under an allowed URI prefix; raises PathNotAllowed."""
    scheme = _scheme(uri)
    rest = uri[len(scheme) + 3:]
    if "\\" in rest or any(seg in ("..", ".") for seg in rest.split("/")):
        raise PathNotAllowed(f"{uri!r}: '.' and '..' segments are not allowed")
    normal = f"{scheme}://{posixpath.normpath(rest)}" if rest else uri
    for root in _remote_roots(config):
        if normal.startswith(root) and len(normal) > len(root):
            return normal
    raise PathNotAllowed(f"{uri!r}: outside the allowed media roots")


def check_local_file(path: Path, config: WorkerConfig) -> int:
    """Size of a confined local file; raises InvalidMedia unless it is a non-empty regular file."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InvalidMedia(f"{path}: no such file") from None
    except PermissionError:
        raise InvalidMedia(f"{path}: not readable") from None
    if not stat.S_ISREG(info.st_mode):
        raise InvalidMedia(f"{path}: not a regular file")
    if info.st_size == 0:
        raise InvalidMedia(f"{path}: empty file (0 bytes)")
    if info.st_size > config.max_media_bytes:
        raise InvalidMedia(f"{path}: {info.st_size} bytes is over the {config.max_media_bytes} byte limit")
    return info.st_size


def check_uri(uri: str, config: WorkerConfig) -> str:
    """The canonical form of a confined URI (the real path of a local file, the normalised remote
    URI), without touching the file; raises PathNotAllowed. Ownership is keyed by it."""
    uri = _check_text(uri)
    path = local_path(uri)
    if path is not None:
        return str(confine_local(path, config))
    return confine_remote(uri, config)


def _copy_remote(uri: str, config: WorkerConfig, folder: str) -> Path:
    import fsspec  # imported here: only remote URIs need it

    try:
        fs, path = fsspec.core.url_to_fs(uri)
    except (ValueError, ImportError) as exc:  # unknown protocol, or its driver is not installed
        raise PathNotAllowed(f"{uri!r}: no storage driver for this URI ({exc.__class__.__name__})") from None
    try:
        info = fs.info(path)
    except FileNotFoundError:
        raise InvalidMedia(f"{uri}: no such object") from None
    if info.get("type") not in (None, "file"):
        raise InvalidMedia(f"{uri}: not a file")
    size = info.get("size")
    if size == 0:
        raise InvalidMedia(f"{uri}: empty file (0 bytes)")
    if size is not None and size > config.max_media_bytes:
        raise InvalidMedia(f"{uri}: {size} bytes is over the {config.max_media_bytes} byte limit")
    suffix = posixpath.splitext(path)[1][:8]
    target = Path(folder) / f"media{len(os.listdir(folder))}{suffix}"
    copied = 0
    with fs.open(path, "rb") as src, open(target, "wb") as dst:
        while chunk := src.read(_CHUNK):
            copied += len(chunk)
            if copied > config.max_media_bytes:
                raise InvalidMedia(f"{uri}: over the {config.max_media_bytes} byte limit")
            dst.write(chunk)
    if copied == 0:
        raise InvalidMedia(f"{uri}: empty file (0 bytes)")
    return target


@contextlib.contextmanager
def open_media(uris: tuple[str, ...] | list[str], config: WorkerConfig) -> Iterator[list[Path]]:
    """Local, confined, size-checked paths for the URIs; remote copies are deleted on exit."""
    checked = [_check_text(u) for u in uris]
    folder: str | None = None
    try:
        paths: list[Path] = []
        for uri in checked:
            path = local_path(uri)
            if path is not None:
                real = confine_local(path, config)
                check_local_file(real, config)
                paths.append(real)
            else:
                normal = confine_remote(uri, config)
                if folder is None:
                    folder = tempfile.mkdtemp(prefix="kyc-media-", dir=config.tmp_dir)
                paths.append(_copy_remote(normal, config, folder))
        yield paths
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def delete_media(uri: str, config: WorkerConfig) -> bool:
    """Delete one media file if it is still inside the roots; True when something was removed."""
    try:
        uri = _check_text(uri)
        path = local_path(uri)
        if path is not None:
            real = confine_local(path, config)
            try:
                os.unlink(real)
                return True
            except FileNotFoundError:
                return False
        normal = confine_remote(uri, config)
    except PathNotAllowed:
        return False  # never delete anything outside the roots
    import fsspec

    fs, rpath = fsspec.core.url_to_fs(normal)
    try:
        fs.rm(rpath)
        return True
    except FileNotFoundError:
        return False
