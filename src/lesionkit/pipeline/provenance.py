"""Provenance of one subject's outputs, and the test a resumed batch uses to skip a subject.

The record is the ``Provenance`` entry of the JSON sidecar of the subject's main output, written last
(atomically) after every other file is in place: a subject whose sidecar exists, lists outputs that all
exist, and matches the run being asked for (lesionkit version, steps, input and model hashes,
parameters) is done. Timings and the worker are recorded but never compared.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lesionkit import __version__
from lesionkit.io import write_text
from lesionkit.typing import PathLike

__all__ = ["MATCHED_FIELDS", "provenance_key", "read_provenance", "record_matches", "write_record"]

#: The fields that must be equal for outputs to count as this run's.
MATCHED_FIELDS = ("lesionkit_version", "steps", "inputs", "model", "parameters")


def provenance_key(
    steps: Sequence[str], inputs: Mapping[str, str], model: Sequence[Mapping[str, str]] | None, parameters: Mapping
) -> dict[str, Any]:
    """The matched part of a record: ``inputs`` maps a role (``t1w``, ``mask``) to the file's SHA-256."""
    return {
        "lesionkit_version": __version__,
        "steps": list(steps),
        "inputs": dict(sorted(inputs.items())),
        "model": [m["sha256"] for m in model] if model else [],
        "parameters": json.loads(json.dumps(dict(parameters), sort_keys=True)),  # what a JSON round trip gives
    }


def write_record(path: PathLike, sidecar: Mapping[str, Any], key: Mapping[str, Any], **details: Any) -> Path:
    """Atomically write the sidecar with ``Provenance`` = ``key`` plus ``details`` (outputs, seconds, worker…)."""
    record = {**sidecar, "Provenance": {**key, **details}}
    return write_text(path, json.dumps(record, indent=2, default=str) + "\n")


def read_provenance(path: PathLike) -> dict[str, Any] | None:
    """The ``Provenance`` entry of a sidecar, or None if it is missing or unreadable."""
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    provenance = record.get("Provenance") if isinstance(record, dict) else None
    return provenance if isinstance(provenance, dict) else None


def record_matches(path: PathLike, key: Mapping[str, Any], root: PathLike) -> bool:
    """True if ``path``'s provenance matches ``key`` and every output it lists exists under ``root``."""
    provenance = read_provenance(path)
    if provenance is None or any(provenance.get(name) != key.get(name) for name in MATCHED_FIELDS):
        return False
    outputs = provenance.get("outputs")
    return isinstance(outputs, list) and all((Path(root) / name).is_file() for name in outputs)
