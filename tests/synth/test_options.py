import dataclasses

import pytest

from lesionkit.synth import PRESETS, SynthOptions


def test_default_options_mix_real_and_generated_shapes_and_classic_is_the_original():
    assert PRESETS["atlas"] == SynthOptions() and SynthOptions().lesion_shapes == "mixed"
    assert not SynthOptions().is_classic
    classic = PRESETS["classic"]
    assert classic.is_classic and dataclasses.replace(SynthOptions(), lesion_shapes="generated") == classic
    realistic = PRESETS["realistic"]
    assert not realistic.is_classic and realistic.lesion_shapes == "mixed" and realistic.randomize_contrast
    assert 0.2 <= realistic.lesion_free_share <= 0.3 and realistic.age_range is not None


@pytest.mark.parametrize("bad", [{"lesion_shapes": "spheres"}, {"skull_strip_share": 1.5},
                                 {"lesion_free_share": -0.1}, {"age_range": (80.0, 40.0)},
                                 {"cortex_warp_mm": -1.0}, {"cortex_warp_mm": 6.0}])
def test_bad_options_are_refused(bad):
    with pytest.raises(ValueError, match=f"^{next(iter(bad))} must be"):
        SynthOptions(**bad)
