import dataclasses

import pytest

from lesionkit.synth import PRESETS, SynthOptions


def test_default_options_are_the_original_generator():
    assert SynthOptions().is_default and PRESETS["atlas"] == SynthOptions()
    assert SynthOptions().lesion_shapes == "generated"  # mixed becomes the default with a model trained on it
    realistic = PRESETS["realistic"]
    assert not realistic.is_default and realistic.lesion_shapes == "mixed" and realistic.randomize_contrast
    assert 0.2 <= realistic.lesion_free_share <= 0.3 and realistic.age_range is not None
    assert not dataclasses.replace(realistic, lesion_shapes="real").is_default


@pytest.mark.parametrize("bad", [{"lesion_shapes": "spheres"}, {"skull_strip_share": 1.5},
                                 {"lesion_free_share": -0.1}, {"age_range": (80.0, 40.0)}])
def test_bad_options_are_refused(bad):
    with pytest.raises(ValueError):
        SynthOptions(**bad)
