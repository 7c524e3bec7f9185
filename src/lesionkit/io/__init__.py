"""NIfTI reading and writing, ATLAS/BIDS discovery, derivative naming and the bundled templates."""

from lesionkit.io.atomic import atomic_path, remove_stale_temporaries, write_text
from lesionkit.io.bids import (
    bids_name,
    derivative_path,
    parse_bids_name,
    split_extension,
    write_dataset_description,
)
from lesionkit.io.cohort import (
    CORRECTED_DESC,
    MNI_SPACE,
    Case,
    Prefer,
    corrected_mask_path,
    is_corrected_mask,
    load_case_mask,
    load_cohort,
)
from lesionkit.io.collect import collect_cases, validate_cases
from lesionkit.io.errors import InvalidInputError, OutputPathError
from lesionkit.io.hashing import file_sha256
from lesionkit.io.nifti import (
    binarize_mask,
    check_nifti_size,
    check_same_grid,
    check_scan,
    ensure_3d,
    load_image,
    load_mask,
    load_nifti,
    load_probability,
    save_nifti,
    validate_volume,
)
from lesionkit.io.outputs import IMAGE_SUFFIXES, check_output_dir, check_output_file
from lesionkit.io.templates import (
    ATLAS_AFFINE,
    ATLAS_SHAPE,
    atlas_step,
    is_atlas_grid,
    load_template,
    load_territories,
    territory_names,
)

__all__ = [
    "ATLAS_AFFINE",
    "ATLAS_SHAPE",
    "CORRECTED_DESC",
    "IMAGE_SUFFIXES",
    "MNI_SPACE",
    "Case",
    "InvalidInputError",
    "OutputPathError",
    "Prefer",
    "atlas_step",
    "atomic_path",
    "bids_name",
    "binarize_mask",
    "check_nifti_size",
    "check_output_dir",
    "check_output_file",
    "check_same_grid",
    "check_scan",
    "collect_cases",
    "corrected_mask_path",
    "derivative_path",
    "ensure_3d",
    "file_sha256",
    "is_atlas_grid",
    "is_corrected_mask",
    "load_case_mask",
    "load_cohort",
    "load_image",
    "load_mask",
    "load_nifti",
    "load_probability",
    "load_template",
    "load_territories",
    "parse_bids_name",
    "remove_stale_temporaries",
    "save_nifti",
    "split_extension",
    "territory_names",
    "validate_cases",
    "validate_volume",
    "write_dataset_description",
    "write_text",
]
