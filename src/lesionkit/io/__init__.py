"""NIfTI reading and writing, ATLAS/BIDS discovery, derivative naming and the bundled templates."""

from lesionkit.io.atomic import atomic_path, write_text
from lesionkit.io.bids import (
    bids_name,
    derivative_path,
    parse_bids_name,
    split_extension,
    write_dataset_description,
)
from lesionkit.io.cohort import MNI_SPACE, Case, load_case_mask, load_cohort
from lesionkit.io.errors import InvalidInputError
from lesionkit.io.nifti import (
    binarize_mask,
    check_same_grid,
    ensure_3d,
    load_image,
    load_mask,
    load_nifti,
    save_nifti,
)
from lesionkit.io.templates import (
    ATLAS_AFFINE,
    ATLAS_SHAPE,
    is_atlas_grid,
    load_template,
    load_territories,
    territory_names,
)

__all__ = [
    "ATLAS_AFFINE",
    "ATLAS_SHAPE",
    "MNI_SPACE",
    "Case",
    "InvalidInputError",
    "atomic_path",
    "bids_name",
    "binarize_mask",
    "check_same_grid",
    "derivative_path",
    "ensure_3d",
    "is_atlas_grid",
    "load_case_mask",
    "load_cohort",
    "load_image",
    "load_mask",
    "load_nifti",
    "load_template",
    "load_territories",
    "parse_bids_name",
    "save_nifti",
    "split_extension",
    "territory_names",
    "write_dataset_description",
    "write_text",
]
