"""Synthetic ATLAS-like cohorts with known truth (T1w, lesion masks, metadata, native scans + transforms).

Realism limits (what is approximated):

* anatomy is the MNI152 2009a template warped per subject (±5 % scale, a few degrees, ~3 mm smooth
  displacement): subjects share the template's folding pattern and its smoothness (an average of
  152 brains is blurrier than one scan); head layers are concentric shells, not real skull anatomy;
* lesion shapes come from a perturbed distance restricted to tissue and (softly) to one arterial
  territory, not from vascular simulation; large lesions do not deform surrounding anatomy beyond
  the ventricle's ex-vacuo dilatation;
* scanner effects are a smooth bias field, Rician/Gaussian noise, gamma contrast, slice-profile blur and
  an intensity scale; no motion, ringing, wrap-around or inhomogeneous contrast between tissue types;
* native scans are re-sampled from the MNI-space subject, so the native field of view is cut where
  the MNI box ends.

Realism options (:class:`SynthOptions`; by default half the lesions are real tracings, and
``lesionkit synth --preset realistic`` turns on the rest) narrow these gaps: real lesion tracings
(:mod:`~lesionkit.synth.real_shapes`), ageing anatomy and larger head variation
(:mod:`~lesionkit.synth.aging`), per-subject domain randomisation (:mod:`~lesionkit.synth.randomize`),
brain-extracted and lesion-free subjects. Folding is still the template's.
"""

from lesionkit.synth.cohort import cohort_profile, generate_cohort, subject_seed
from lesionkit.synth.options import PRESETS, SynthOptions
from lesionkit.synth.profile import ScannerProfile, draw_profile
from lesionkit.synth.subject import SyntheticSubject, generate_subject

__all__ = [
    "PRESETS",
    "ScannerProfile",
    "SynthOptions",
    "SyntheticSubject",
    "cohort_profile",
    "draw_profile",
    "generate_cohort",
    "generate_subject",
    "subject_seed",
]
