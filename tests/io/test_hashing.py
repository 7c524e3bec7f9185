import hashlib

from lesionkit.io import file_sha256


def test_the_hash_is_the_sha256_of_the_bytes_and_changes_with_one_byte(tmp_path):
    data = bytes(range(256)) * 9000  # over two 1 MiB blocks, so the block loop is exercised
    path = tmp_path / "mask.nii.gz"
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()
    path.write_bytes(data[:-1] + b"\x00")
    assert file_sha256(path) != hashlib.sha256(data).hexdigest()
