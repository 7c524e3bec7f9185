"""Memory follows the file, not the header: a 72-byte .nii.gz claiming 1024³ voxels stays small."""

import pytest

from tests.cli._hostile import header_bomb, one_line, peak_rss, tiny_model
from tests.metrics._trees import cube, truth_tree

LIMIT_MB = 300  # the claimed volume alone would be 1,024 MB


@pytest.mark.parametrize("command", ["evaluate", "segment"])
def test_a_header_claiming_1024_cubed_is_refused_within_300_mb(tmp_path, command):
    if command == "evaluate":
        bomb = header_bomb(tmp_path / "pred" / "sub-r001s001_mask.nii.gz")
        truth = truth_tree(tmp_path / "truth", {"r001s001": cube(2, 6)})
        args = ["evaluate", tmp_path / "pred", truth, "-o", tmp_path / "out", "--quiet"]
    else:
        bomb = header_bomb(tmp_path / "in" / "sub-01_T1w.nii.gz")
        args = ["segment", bomb, "-o", tmp_path / "out", "--model", tiny_model(tmp_path / "tiny.pt")]
    assert bomb.stat().st_size <= 80
    code, peak_mb, stderr = peak_rss(args)
    assert code == 3
    assert one_line(stderr).startswith(f"lesionkit {command}: invalid input: {bomb}: its header claims a "
                                       "1024×1024×1024 uint8 volume (1,073,741,824 bytes), more than a gzip file")
    assert peak_mb < LIMIT_MB, f"{command} peaked at {peak_mb:.0f} MB"
    assert not (tmp_path / "out").exists()
