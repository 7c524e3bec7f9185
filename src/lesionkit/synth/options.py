"""Opt-in realism options of the generator, and the named presets of ``lesionkit synth --preset``.

The defaults (:data:`ATLAS`) are the original generator with each lesion's shape drawn either from the
155 real tracings or from the territory-grown generator (``lesion_shapes="mixed"``, the default since the
shipped model was trained on it). :data:`CLASSIC` (``generated`` shapes only) reproduces the original
generator byte for byte, so cohorts made with earlier versions can be remade from their seeds.
``realistic`` turns everything on (ageing anatomy, acquisitions calibrated to real research and clinical scans,
brain-extracted, lesion-free and small-lesion subjects); ``wide`` is its earlier version with broad domain
randomisation (SNR down to 5, 6 mm slices), kept for augmentation and to remake earlier cohorts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

from lesionkit.synth.lesions import LesionRim
from lesionkit.synth.randomize import AcquisitionProfile

__all__ = ["ATLAS", "CLASSIC", "PRESETS", "REALISTIC", "WIDE", "LesionShapes", "SynthOptions"]

LesionShapes = Literal["generated", "real", "mixed"]


@dataclass(frozen=True)
class SynthOptions:
    """What a subject may vary beyond the original generator (every field off by default)."""

    lesion_shapes: LesionShapes = "mixed"
    """``generated`` (territory-grown shapes), ``real`` (the 155 shipped tracings, see
    :mod:`lesionkit.synth.real_shapes`) or ``mixed`` (each lesion one or the other at random)."""
    age_range: tuple[float, float] | None = None
    """Ages (years) drawn uniformly per subject; older brains get wider sulci, thinner cortex, larger
    ventricles, more white-matter hypointensity and perivascular spaces (:mod:`lesionkit.synth.aging`).
    None: the template's anatomy as before."""
    randomize_contrast: bool = False
    """Domain randomisation per subject (:mod:`lesionkit.synth.randomize`): tissue intensities from a
    random mixture, 2–6 mm slices, SNR 5–40, strong bias, gamma, 8-bit storage, varied head size."""
    skull_strip_share: float = 0.0
    """Share of subjects stored brain-extracted (zero outside a slightly imperfect brain mask)."""
    lesion_free_share: float = 0.0
    """Share of subjects without any lesion (empty mask)."""
    small_lesion_share: float = 0.0
    """Share of lesioned subjects whose lesions are all small (lacunes and small infarcts of 15–1,500 mm³)."""
    acquisition: AcquisitionProfile = "wide"
    """With ``randomize_contrast``: ``wide`` (broad domain randomisation, 2–6 mm slices, SNR 5–40) or
    ``calibrated`` (research 1 mm scans mostly, some older and clinical ones; :mod:`lesionkit.synth.randomize`)."""
    lesion_rim: LesionRim = "fixed"
    """The gliotic rim of each lesion: ``fixed`` 1.5–3 mm, or ``scaled`` to at most a third of the lesion's depth,
    so lacunes and small infarcts are CSF-dark cavities (:func:`lesionkit.synth.lesions.paint_lesion`)."""

    cortex_warp_mm: float = 0.0
    """Largest extra displacement (mm) of a fine warp on an 8 mm grid (on average about a quarter of it; at 4 mm the
    smallest Jacobian determinant measured 0.3: no folding): each subject's gyri and sulci move on their own, away
    from the template's. Every subject is the deformed MNI template, also one of the network's input channels; made
    to test whether that is why 1 mm networks marked a real head's sulci as lesions (issue 22, session 10: trained
    on warped heads, the network marked other sulci instead, so it is at most part of the cause). 0: off."""
    sulcal_csf: float = 0.0
    """How CSF-dark each sulcus is to its fundus (0..1; :mod:`lesionkit.synth.sulci`): the template, an average of 152
    brains, has shallow sulci that are grey at depth, a real 1 mm scan narrow CSF clefts down to the fundus. Each
    subject draws 60–100 % of it. 0: off (the template's sulci, every earlier cohort's bytes)."""

    def __post_init__(self) -> None:
        if self.lesion_shapes not in ("generated", "real", "mixed"):
            raise ValueError(f"lesion_shapes must be 'generated', 'real' or 'mixed', got {self.lesion_shapes!r}")
        if self.lesion_rim not in ("fixed", "scaled"):
            raise ValueError(f"lesion_rim must be 'fixed' or 'scaled', got {self.lesion_rim!r}")
        if self.acquisition not in ("wide", "calibrated"):
            raise ValueError(f"acquisition must be 'wide' or 'calibrated', got {self.acquisition!r}")
        for name in ("skull_strip_share", "lesion_free_share", "small_lesion_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {getattr(self, name)}")
        if not 0.0 <= self.cortex_warp_mm <= 5.0:
            raise ValueError(f"cortex_warp_mm must be between 0 and 5 mm (more folds the cortex over itself), got "
                             f"{self.cortex_warp_mm}")
        if not 0.0 <= self.sulcal_csf <= 1.0:
            raise ValueError(f"sulcal_csf must be between 0 and 1, got {self.sulcal_csf}")
        if self.age_range is not None:
            low, high = self.age_range
            if not 0 <= low <= high <= 120:
                raise ValueError(f"age_range must be (low, high) years with 0 <= low <= high <= 120, got "
                                 f"{self.age_range}")

    @property
    def is_classic(self) -> bool:
        """The original generator: its records and tables keep their earlier bytes."""
        return self == CLASSIC

    def as_dict(self) -> dict:
        return asdict(self)


ATLAS = SynthOptions()
CLASSIC = SynthOptions(lesion_shapes="generated")
REALISTIC = SynthOptions(lesion_shapes="mixed", age_range=(30.0, 85.0), randomize_contrast=True,
                         skull_strip_share=0.3, lesion_free_share=0.25, small_lesion_share=0.35,
                         acquisition="calibrated", lesion_rim="scaled")
#: The ``realistic`` preset before its acquisitions were calibrated (sessions 4–6): the broad randomisation the
#: model card's earlier held-out figures used; it reproduces those cohorts byte for byte.
WIDE = SynthOptions(lesion_shapes="mixed", age_range=(30.0, 85.0), randomize_contrast=True, skull_strip_share=0.3,
                    lesion_free_share=0.25)
PRESETS: dict[str, SynthOptions] = {"atlas": ATLAS, "classic": CLASSIC, "realistic": REALISTIC, "wide": WIDE}
