import json

import numpy as np
import pytest

from lesionkit.io import InvalidInputError
from lesionkit.preprocess.ants_bridge import matrix_from_ants_transform
from lesionkit.preprocess.xfm import load_transform_json, save_transform
from tests.preprocess.native_case import rotation


def test_save_and_load_both_formats(tmp_path):
    matrix = np.eye(4)
    matrix[:3, :3] = rotation((70, -20, 10)) * 1.03
    matrix[:3, 3] = (3, -4, 5)
    mat, js = tmp_path / "x_xfm.mat", tmp_path / "x_xfm.json"
    save_transform(matrix, mat, js, source="orig", target="MNI152NLin2009aSym")
    np.testing.assert_allclose(load_transform_json(js), matrix, atol=1e-12)
    np.testing.assert_allclose(matrix_from_ants_transform(str(mat)), matrix, atol=1e-6)
    doc = json.loads(js.read_text())
    assert doc["FromSpace"] == "orig" and doc["ToSpace"] == "MNI152NLin2009aSym"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x_xfm.json", "x_xfm.mat"]  # no temporary files left


@pytest.mark.parametrize("text", ["not json", '{"Matrix": [[1, 0], [0, 1]]}', '{"Other": 1}'])
def test_bad_transform_json_is_refused(tmp_path, text):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(InvalidInputError, match="bad.json"):
        load_transform_json(path)
