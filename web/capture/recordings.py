"""The selfie's recording from the capture page: streamed to a file of the upload folder named by the
server, refused as soon as it passes `KYC_WEB_CAPTURE_RECORDING_BYTES` (413) or when its first bytes
are not a WebM (EBML) or MP4 (`ftyp`) header (422 `invalid_media`); nothing is left on disk when it
is refused. The file keeps its container as it came (the workers read WebM as they read MP4)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import IO

from fastapi import Request

from kycengine.errors import InvalidMedia

from ..api.uploads import upload_folder
from ..config import WebConfig
from ..problems import UploadTooLarge

HEAD = 12  # bytes enough to tell the container: EBML's magic, or MP4's box size then `ftyp`


def suffix(head: bytes) -> str:
    """The recording's file suffix from its first bytes; InvalidMedia for anything else."""
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return ".webm"
    if head[4:8] == b"ftyp":
        return ".mp4"
    raise InvalidMedia("a recording must be a WebM or MP4 video")


def too_large(config: WebConfig, size: int) -> UploadTooLarge:
    return UploadTooLarge(f"a recording of {size} bytes or more is over the "
                          f"{config.capture_max_recording_bytes} byte limit")


async def receive(request: Request, config: WebConfig) -> Path:
    """The request body written to a new file of the upload folder (see the module)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > config.capture_max_recording_bytes:
        raise too_large(config, int(declared))
    head = bytearray()
    path: Path | None = None
    file: IO[bytes] | None = None
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > config.capture_max_recording_bytes:
                raise too_large(config, size)
            if file is not None:
                file.write(chunk)
                continue
            head.extend(chunk)
            if len(head) >= HEAD:
                path = upload_folder(config) / f"recording-{uuid.uuid4().hex}{suffix(bytes(head))}"
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
                file = os.fdopen(os.open(path, flags, 0o640), "wb")
                file.write(head)
        if file is None or path is None:
            raise InvalidMedia(f"a recording of {size} bytes is no video")
        file.close()
        return path
    except BaseException:  # refused, or the client gone: nothing stays on disk
        if file is not None:
            file.close()
        if path is not None:
            path.unlink(missing_ok=True)
        raise
