import pytest

from lesionkit.io import atomic_path, write_text
from tests.conftest import make_leftover


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


def test_temporary_names_are_recognisable_and_keep_the_suffix(tmp_path):
    import os

    from lesionkit.io.atomic import is_temporary, temporary_path

    tmp = temporary_path(tmp_path / "sub-01_mask.nii.gz")
    assert tmp.name.startswith(".sub-01_mask.") and tmp.name.endswith(".tmp.nii.gz") and f"-{os.getpid()}-" in tmp.name
    assert is_temporary(tmp.name) and is_temporary(".sub-b_T1w.0123abcd.tmp.nii.gz")  # the older naming too
    assert not is_temporary("sub-01_mask.nii.gz") and not is_temporary(".hidden.tmp")


def test_stale_temporaries_are_those_of_dead_writers_or_old(tmp_path):
    import os

    from lesionkit.io import remove_stale_temporaries
    from lesionkit.io.atomic import STALE_AFTER_S, stale_temporaries

    dead = make_leftover(tmp_path / "sub-01" / "anat", "sub-01_mask.nii.gz")
    live = make_leftover(tmp_path, "live.tsv", pid=os.getppid())  # a concurrent run: its writer still runs
    old = make_leftover(tmp_path, "old.tsv", pid=os.getppid(), age_s=STALE_AFTER_S + 5)
    legacy = tmp_path / ".report.0123abcd.tmp.html"
    legacy.write_text("x")  # an earlier version's name, just written: could be a live writer's
    keep = tmp_path / ".notes.txt"
    keep.write_text("not ours")
    assert stale_temporaries(tmp_path) == sorted([dead, old])
    assert stale_temporaries(tmp_path, target=tmp_path / "old.tsv") == [old]
    assert remove_stale_temporaries(tmp_path) == sorted([dead, old])
    assert live.exists() and legacy.exists() and keep.exists() and not dead.exists() and not old.exists()


def test_an_interrupted_block_leaves_nothing_and_is_deregistered(tmp_path):
    from lesionkit.io.atomic import _LIVE, remove_live_temporaries

    with pytest.raises(KeyboardInterrupt):
        with atomic_path(tmp_path / "x.nii.gz") as tmp:
            tmp.write_bytes(b"half")
            assert tmp in _LIVE
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == [] and not _LIVE
    with atomic_path(tmp_path / "y.txt") as tmp:  # what a second interrupt inside `finally` would leave
        tmp.write_text("half")
        assert remove_live_temporaries() == [tmp] and not tmp.exists()
        tmp.write_text("done")
    assert (tmp_path / "y.txt").read_text() == "done"
