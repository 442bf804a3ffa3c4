"""Offline model registry: the manifest pins each model's package, file, sha256, licence and input.

Weights are never downloaded. A model resolves to a file inside its installed package, or to a file
in $KYC_MODEL_DIR when the operator's manifest there lists it; the file is checked against its
sha256 before first use and a mismatch or absence raises ModelUnavailable naming what to install.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ..errors import ModelUnavailable, UnknownModel
from ..records import Record

MANIFEST = Path(__file__).with_name("manifest.toml")
MODEL_DIR_ENV = "KYC_MODEL_DIR"


@dataclass(frozen=True)
class InputSpec(Record):
    """What a model expects: tensor layout, colour order, input size (w, h; 0 = any), normalisation."""

    layout: str
    colour: str
    size: tuple[int, ...]
    mean: float
    std: float


@dataclass(frozen=True)
class ModelSpec(Record):
    """One manifest entry. `package` is empty for operator-supplied models."""

    id: str
    task: str
    backend: str
    package: str
    version: str
    module: str
    file: str
    sha256: str
    licence: str
    input: InputSpec
    optional: bool = False
    origin: str = "manifest"  # "manifest" or the operator's folder

    @property
    def source(self) -> str:
        """Where the file comes from: `package==version`, or the operator's folder."""
        if self.origin == "manifest":
            return f"{self.package}=={self.version}" if self.package else "operator"
        return self.origin

    @property
    def reference(self) -> str:
        """How a verdict names the model's version without naming a server path: the package pin,
        or the start of an operator file's sha256."""
        return f"{self.package}=={self.version}" if self.package else f"sha256:{self.sha256[:16]}"

    @property
    def install_hint(self) -> str:
        """What to do when the file is missing."""
        if self.package:
            return f"pip install '{self.package}=={self.version}'"
        return f"put {self.file} and a manifest.toml entry with its sha256 in ${MODEL_DIR_ENV}"


@dataclass(frozen=True)
class ModelStatus(Record):
    """Whether a model's file is present and matches its checksum."""

    id: str
    task: str
    backend: str
    source: str
    licence: str
    optional: bool
    present: bool
    verified: bool
    path: str | None
    problem: str | None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@cache
def _verified(path: Path, size: int, mtime_ns: int, sha256: str) -> bool:
    """Checksum once per file version and process (size and mtime are part of the cache key)."""
    return _sha256(path) == sha256


def _read_manifest(path: Path, origin: str) -> list[ModelSpec]:
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ModelUnavailable(f"model manifest {path} cannot be read: {exc}") from None
    specs = []
    for entry in data.get("model", []):
        try:
            specs.append(ModelSpec.from_dict({**entry, "origin": origin}))
        except (TypeError, ValueError) as exc:
            raise ModelUnavailable(f"model manifest {path}: {exc}") from None
    return specs


class Registry:
    """Models by id, from the project manifest overlaid with the operator's manifest (if any)."""

    def __init__(self, specs: list[ModelSpec], model_dir: Path | None = None,
                 threads: int | None = None) -> None:
        self._specs = {spec.id: spec for spec in specs}
        self.model_dir = model_dir
        self.threads = threads  # onnxruntime intra-op threads per session; None: its default

    @classmethod
    def load(cls, manifest: Path = MANIFEST, model_dir: str | os.PathLike[str] | None = None,
             threads: int | None = None) -> Registry:
        """Read the manifest; `model_dir` (default $KYC_MODEL_DIR) may add or replace entries;
        `threads` fixes the sessions' thread count (workers use 1 and one process per core)."""
        specs = _read_manifest(manifest, "manifest")
        folder = model_dir if model_dir is not None else os.environ.get(MODEL_DIR_ENV)
        folder_path = Path(folder).resolve() if folder else None
        if folder_path is not None and (folder_path / "manifest.toml").is_file():
            specs += _read_manifest(folder_path / "manifest.toml", str(folder_path))
        return cls(specs, folder_path, threads)

    def ids(self) -> tuple[str, ...]:
        """All model ids, in manifest order."""
        return tuple(self._specs)

    def spec(self, model_id: str) -> ModelSpec:
        """The manifest entry; an unknown id raises UnknownModel at once."""
        try:
            return self._specs[model_id]
        except KeyError:
            raise UnknownModel(f"unknown model {model_id!r}; known: {', '.join(self._specs)}") from None

    def _locate(self, spec: ModelSpec) -> Path:
        if spec.origin != "manifest":
            base = Path(spec.origin)
            path = (base / spec.file).resolve()
            if not path.is_relative_to(base):
                raise ModelUnavailable(f"model {spec.id}: {spec.file} points outside {base}")
            return path
        if not spec.module:
            raise ModelUnavailable(f"model {spec.id} is not installed: {spec.install_hint}")
        found = importlib.util.find_spec(spec.module)
        if found is None or not found.submodule_search_locations:
            raise ModelUnavailable(f"model {spec.id} needs the package {spec.package}: {spec.install_hint}")
        return Path(next(iter(found.submodule_search_locations))) / spec.file

    def path(self, model_id: str) -> Path:
        """Verified path of the model's file; raises ModelUnavailable with an install hint."""
        spec = self.spec(model_id)
        path = self._locate(spec)
        if not path.is_file():
            raise ModelUnavailable(f"model {spec.id}: {path} is missing; {spec.install_hint}")
        if not spec.sha256:
            raise ModelUnavailable(f"model {spec.id} has no sha256 in its manifest; {spec.install_hint}")
        stat = path.stat()
        if not _verified(path, stat.st_size, stat.st_mtime_ns, spec.sha256):
            raise ModelUnavailable(f"model {spec.id}: {path} does not match its sha256 "
                                   f"(altered or another version); {spec.install_hint}")
        return path

    def available(self, model_id: str) -> bool:
        """True when the model resolves to a verified file."""
        try:
            self.path(model_id)
        except ModelUnavailable:
            return False
        return True

    def status(self) -> list[ModelStatus]:
        """Presence and checksum of every model, for `kyc models`."""
        rows = []
        for spec in self._specs.values():
            path: Path | None = None
            problem = None
            try:
                path = self._locate(spec)
                self.path(spec.id)
            except ModelUnavailable as exc:
                problem = exc.message
            present = path is not None and path.is_file()
            rows.append(ModelStatus(id=spec.id, task=spec.task, backend=spec.backend, source=spec.source,
                                    licence=spec.licence, optional=spec.optional, present=present,
                                    verified=problem is None, path=str(path) if present else None,
                                    problem=problem))
        return rows

    def onnx_session(self, model_id: str, threads: int | None = None) -> Any:
        """An onnxruntime CPU session for a verified model (imported lazily: loading is explicit);
        `threads` overrides the registry's thread count for this session."""
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        count = threads or self.threads
        if count:
            options.intra_op_num_threads = count
            options.inter_op_num_threads = 1
        path = self.path(model_id)
        try:
            return onnxruntime.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own unexported error classes (InvalidProtobuf, Fail, ...)
            spec = self.spec(model_id)
            raise ModelUnavailable(f"model {spec.id}: {path} is not a usable ONNX model "
                                   f"({exc.__class__.__name__}); {spec.install_hint}") from exc


@cache
def default_registry() -> Registry:
    """The process-wide registry (project manifest + $KYC_MODEL_DIR), read once."""
    return Registry.load()
