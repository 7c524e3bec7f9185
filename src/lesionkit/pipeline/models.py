"""Checkpoints named by path and content hash, loaded once per process (once per Dask worker).

A batch sends every task a small :class:`ModelRef` instead of the network; the first task a worker
runs loads the model and later tasks reuse it. The hash, taken on the client when the batch starts,
goes into every subject's provenance and guards against a checkpoint replaced during the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lesionkit.io import InvalidInputError, file_sha256
from lesionkit.typing import PathLike

if TYPE_CHECKING:
    from lesionkit.model import SegmentationModel

__all__ = ["ModelRef", "load_cached_model"]

_MODELS: dict[ModelRef, SegmentationModel] = {}



@dataclass(frozen=True)
class ModelRef:
    """One checkpoint or an ensemble of several, by absolute path and SHA-256."""

    paths: tuple[str, ...]
    sha256: tuple[str, ...]

    @classmethod
    def from_paths(cls, paths: PathLike | list[PathLike] | tuple[PathLike, ...] | None) -> ModelRef:
        """Hash the checkpoint(s); None is the shipped default model."""
        from lesionkit.model import default_model_path

        items = [default_model_path()] if paths is None else [paths] if isinstance(paths, str | Path) else paths
        resolved = [Path(p).resolve() for p in items]
        for path in resolved:
            if not path.is_file():
                raise InvalidInputError(path, "model checkpoint does not exist")
        return cls(tuple(str(p) for p in resolved), tuple(file_sha256(p) for p in resolved))

    def as_dict(self) -> list[dict[str, str]]:
        return [{"path": p, "sha256": h} for p, h in zip(self.paths, self.sha256, strict=True)]


def load_cached_model(ref: ModelRef) -> SegmentationModel:
    """The model of ``ref``, loaded on first use in this process; refuses a checkpoint whose bytes changed."""
    model = _MODELS.get(ref)
    if model is None:
        from lesionkit.model import load_model

        for path, expected in zip(ref.paths, ref.sha256, strict=True):
            if Path(path).is_file() and file_sha256(path) != expected:
                raise InvalidInputError(path, "model checkpoint changed since the batch started (SHA-256 differs)")
        model = _MODELS[ref] = load_model(list(ref.paths))
    return model
