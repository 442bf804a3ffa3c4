"""Multipart submissions: the two videos streamed to the upload folder under a size limit.

The body is parsed as it arrives (python-multipart's streaming parser, the one Starlette uses) and
each video is written straight to a file of the upload folder (KYC_WEB_UPLOAD_ROOT, inside a media
root) named by the server: a random name, never the client's file name. A video over
KYC_WEB_MAX_UPLOAD_BYTES stops the upload at that byte (413) and every file of the request is
deleted, as it is on any other error; Starlette's own form parser is not used because it spools
whole files to temporary storage before the application sees them.

Parts: `request` (the JSON request without the two media URIs), `document_video`, `selfie_video`.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header

from kycengine.errors import InvalidRequest
from workers import media
from workers.intake import RequestTooLarge

from ..config import WebConfig
from ..problems import UploadTooLarge
from .signing import SignatureCheck

REQUEST_PART = "request"
VIDEO_PARTS = ("document_video", "selfie_video")
_SLACK = 64 * 1024  # multipart boundaries and part headers on top of the parts' own sizes


def upload_folder(config: WebConfig) -> Path:
    """Where uploads go (created if needed): KYC_WEB_UPLOAD_ROOT, else `uploads` in the first local
    media root; PathNotAllowed unless it lies inside a media root (workers read only from there)."""
    if config.upload_root:
        folder = Path(config.upload_root)
    else:
        local = [r for r in config.worker.media_roots if media.local_path(r) is not None]
        if not local:
            raise media.PathNotAllowed("uploads need a local media root (KYC_MEDIA_ROOTS) or KYC_WEB_UPLOAD_ROOT")
        folder = Path(media.local_path(local[0]) or local[0]) / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return Path(media.check_uri(str(folder.resolve() / "probe"), config.worker)).parent


@dataclass(frozen=True)
class Upload:
    """A received multipart submission: the request part's text, the stored videos, a digest of all."""

    request_text: str
    paths: dict[str, str]
    digest: str

    def discard(self) -> None:
        """Delete the stored videos (the submission was refused or answered before)."""
        for path in self.paths.values():
            Path(path).unlink(missing_ok=True)


@dataclass
class _Part:
    name: str = ""
    disposition: bytes = b""
    header_name: bytes = b""
    header_value: bytes = b""
    data: bytearray = field(default_factory=bytearray)
    file: IO[bytes] | None = None
    path: Path | None = None
    size: int = 0
    sha256: Any = field(default_factory=hashlib.sha256)


class _Receiver:
    """python-multipart callbacks writing the videos to disk and keeping the request part."""

    def __init__(self, folder: Path, config: WebConfig) -> None:
        self.folder, self.config = folder, config
        self.part = _Part()
        self.done: dict[str, _Part] = {}
        self.written: list[Path] = []

    def on_part_begin(self) -> None:
        self.part = _Part()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.part.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.part.header_value += data[start:end]

    def on_header_end(self) -> None:
        if self.part.header_name.strip().lower() == b"content-disposition":
            self.part.disposition = self.part.header_value
        self.part.header_name, self.part.header_value = b"", b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.part.disposition)
        name = options.get(b"name", b"").decode("latin-1")
        if name in self.done:
            raise InvalidRequest(f"multipart: part {name!r} given twice")
        if name not in (REQUEST_PART, *VIDEO_PARTS):
            raise InvalidRequest(f"multipart: unexpected part {name!r}; parts are {REQUEST_PART}, "
                                 f"{', '.join(VIDEO_PARTS)}")
        self.part.name = name
        if name in VIDEO_PARTS:  # the client's file name is never used
            path = self.folder / f"{uuid.uuid4().hex}.upload"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o640)
            self.written.append(path)
            self.part.path, self.part.file = path, os.fdopen(fd, "wb")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        part = self.part
        part.size += len(chunk)
        part.sha256.update(chunk)
        if part.file is None:
            if part.size > self.config.worker.max_request_bytes:
                raise RequestTooLarge(f"multipart: the {REQUEST_PART} part is over "
                                      f"{self.config.worker.max_request_bytes} bytes")
            part.data.extend(chunk)
            return
        if part.size > self.config.max_upload_bytes:
            raise UploadTooLarge(f"{part.name}: over the {self.config.max_upload_bytes} byte upload limit")
        part.file.write(chunk)

    def on_part_end(self) -> None:
        if self.part.file is not None:
            self.part.file.close()
        self.done[self.part.name] = self.part

    def close(self) -> None:
        if self.part.file is not None and not self.part.file.closed:
            self.part.file.close()

    def result(self) -> Upload:
        missing = [n for n in (REQUEST_PART, *VIDEO_PARTS) if n not in self.done]
        if missing:
            raise InvalidRequest(f"multipart: missing part(s) {', '.join(missing)}")
        try:
            text = bytes(self.done[REQUEST_PART].data).decode()
        except UnicodeDecodeError:
            raise InvalidRequest(f"multipart: the {REQUEST_PART} part is not UTF-8 JSON") from None
        whole = hashlib.sha256()
        for name in (REQUEST_PART, *VIDEO_PARTS):
            whole.update(f"{name}\0{self.done[name].sha256.hexdigest()}\0".encode())
        return Upload(text, {n: str(self.done[n].path) for n in VIDEO_PARTS}, whole.hexdigest())


async def receive(request: Request, check: SignatureCheck, config: WebConfig) -> Upload:
    """Stream a multipart submission to disk; on any error nothing of it is left on disk."""
    limit = 2 * config.max_upload_bytes + config.worker.max_request_bytes + _SLACK
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise UploadTooLarge(f"request body of {declared} bytes: over the upload limit "
                             f"({config.max_upload_bytes} bytes per video)")
    _, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if not boundary:
        raise InvalidRequest("multipart/form-data without a boundary")
    receiver = _Receiver(upload_folder(config), config)
    callbacks: Any = {name: getattr(receiver, name) for name in (
        "on_part_begin", "on_part_data", "on_part_end", "on_header_field", "on_header_value", "on_header_end",
        "on_headers_finished")}
    received = 0
    try:
        parser = MultipartParser(boundary, callbacks)
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                raise UploadTooLarge(f"request body over {limit} bytes")
            check.update(chunk)
            parser.write(chunk)
        parser.finalize()
        return receiver.result()
    except BaseException as exc:  # a refusal, a malformed body or the client gone: delete what was written
        receiver.close()
        for path in receiver.written:
            path.unlink(missing_ok=True)
        if isinstance(exc, ValueError) and not isinstance(exc, InvalidRequest):
            raise InvalidRequest(f"multipart: malformed body ({exc})") from None
        raise
