import lesionkit.core.lesions as core_lesions
import lesionkit.metrics as metrics
from lesionkit.metrics import lesions


def test_the_metrics_stage_counts_lesions_with_the_one_core_definition():
    # the implementation and its tests live in lesionkit.core.lesions (tests/core/test_lesions.py)
    for name in lesions.__all__:
        assert getattr(lesions, name) is getattr(core_lesions, name)
        assert getattr(metrics, name) is getattr(core_lesions, name)
