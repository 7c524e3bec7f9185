"""The dataset-level files that make an output folder a valid BIDS derivatives dataset.

``dataset_description.json`` (with ``GeneratedBy``), a ``README`` and a ``.bidsignore`` listing what
lesionkit writes that BIDS has no name for yet (transforms, QC figures, lesion tables, ``run.tsv``,
the group outputs). ``bids-validator-deno`` reports no error on the folders this module finishes.
"""

from __future__ import annotations

from pathlib import Path

from lesionkit.io import write_dataset_description, write_text
from lesionkit.typing import PathLike

__all__ = ["BIDSIGNORE", "finish_derivatives"]

#: Files lesionkit writes outside the BIDS specification (gitignore-style patterns).
BIDSIGNORE = (
    "run.tsv",
    "qc.tsv",
    "group",  # a folder name without the trailing slash: bids-validator-deno matches that form
    "figures",
    "*_xfm.mat",
    "*_xfm.json",
    "*_lesions.tsv",
    "*_roiload.tsv",
)

_README = """# {name}

BIDS derivatives written by lesionkit {version} (https://github.com/lesionkit/lesionkit).

- `sub-*/[ses-*/]anat/*_label-L_desc-lesionkit_mask.nii.gz`: lesion masks (uint8 0/1) and `*_probseg.nii.gz`
  lesion probabilities (float32), each on the grid named by its `space-` entity; the mask's JSON sidecar
  holds the provenance (lesionkit version, model SHA-256, parameters, timings).
- `run.tsv`: one row per subject of the last batch (status, seconds, worker, error).
- `qc.tsv`: one row per case, its QC score, flag (`ok`/`check`) and reasons, and the features they come
  from (lesionkit.qc); the mask sidecars hold the same in their `qc` object.

Files BIDS has no name for yet are listed in `.bidsignore`.
"""


def finish_derivatives(root: PathLike, name: str) -> Path:
    """Write ``dataset_description.json``, and a README and ``.bidsignore`` unless they exist; returns ``root``."""
    from lesionkit import __version__

    root = Path(root)
    write_dataset_description(root, name)
    readme = root / "README.md"
    if not readme.exists():
        write_text(readme, _README.format(name=name, version=__version__))
    ignore = root / ".bidsignore"
    present = ignore.read_text(encoding="utf-8").splitlines() if ignore.exists() else []
    missing = [pattern for pattern in BIDSIGNORE if pattern not in present]
    if missing:
        write_text(ignore, "\n".join([*present, *missing]) + "\n")
    return root
