import os

import pytest

from lesionkit.io import IMAGE_SUFFIXES, OutputPathError, check_output_dir, check_output_file

ROOT = os.geteuid() == 0  # root writes into read-only folders: those cases are simulated instead


def test_a_new_or_existing_folder_passes_and_nothing_is_created(tmp_path):
    assert check_output_dir(tmp_path / "a" / "b") == tmp_path / "a" / "b"
    assert check_output_dir(tmp_path) == tmp_path
    assert list(tmp_path.iterdir()) == []  # the write probe is gone


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda tmp: (tmp / "f").write_text("x") and tmp / "f", "exists and is not a folder"),
        (lambda tmp: (tmp / "f").write_text("x") and tmp / "f" / "out", "is a file, not a folder"),
        (lambda tmp: tmp / ("x" * 300), "longer than the 255 bytes"),
        (lambda tmp: (tmp / "link").symlink_to(tmp / "nowhere") or tmp / "link", "broken symbolic link"),
    ],
)
def test_unusable_folders_are_one_error(tmp_path, make, reason):
    path = make(tmp_path)
    with pytest.raises(OutputPathError, match=reason) as info:
        check_output_dir(path)
    assert str(info.value).startswith(f"cannot write to {path}: ")


def test_a_folder_without_write_permission(tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    if ROOT:
        monkeypatch.setattr(os, "access", lambda path, mode: os.fspath(path) != os.fspath(locked))
    else:
        locked.chmod(0o555)
    try:
        with pytest.raises(OutputPathError, match=f"folder {locked} is not writable"):
            check_output_dir(locked / "out")
        with pytest.raises(OutputPathError, match="not writable"):
            check_output_file(locked / "figure.png", IMAGE_SUFFIXES)
    finally:
        locked.chmod(0o755)


def test_a_folder_where_nothing_can_be_created_is_caught_by_the_probe(tmp_path, monkeypatch):
    import tempfile

    def refuse(**kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tempfile, "mkdtemp", refuse)
    with pytest.raises(OutputPathError, match="No space left on device"):
        check_output_dir(tmp_path / "out")


def test_output_files(tmp_path):
    assert check_output_file(tmp_path / "m.png", IMAGE_SUFFIXES) == tmp_path / "m.png"
    assert check_output_file(tmp_path / "new" / "M.PDF", IMAGE_SUFFIXES)
    with pytest.raises(OutputPathError, match="must end in one of .png"):
        check_output_file(tmp_path / "m.txt", IMAGE_SUFFIXES)
    (tmp_path / "d.png").mkdir()
    with pytest.raises(OutputPathError, match="is a folder"):
        check_output_file(tmp_path / "d.png", IMAGE_SUFFIXES)
    # 240 bytes fit the file system, but not with the temporary name written first
    with pytest.raises(OutputPathError, match=r"240 bytes \(\+\d+ for its temporary name\)"):
        check_output_file(tmp_path / ("y" * 236 + ".png"), IMAGE_SUFFIXES)
    assert list(tmp_path.iterdir()) == [tmp_path / "d.png"]
