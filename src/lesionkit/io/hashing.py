"""Content hashes of files: the one definition of a file's version used by provenance and the review app."""

from __future__ import annotations

import hashlib

from lesionkit.typing import PathLike

__all__ = ["file_sha256"]


def file_sha256(path: PathLike) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
