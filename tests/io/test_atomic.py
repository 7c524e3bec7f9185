import pytest

from lesionkit.io import atomic_path, write_text


def test_atomic_path_renames_on_success(tmp_path):
    target = tmp_path / "sub" / "report.html"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp.name.endswith(".html") and tmp != target
        tmp.write_text("ok")
        assert not target.exists()
    assert target.read_text() == "ok"
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]


def test_atomic_path_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "table.tsv"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["table.tsv"]


def test_write_text(tmp_path):
    assert write_text(tmp_path / "a.json", "{}").read_text() == "{}"
