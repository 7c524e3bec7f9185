"""A script's side of the API: zip a folder of masks, upload it, wait for the scores."""

from __future__ import annotations

import tempfile
import time
import zipfile
from pathlib import Path

from lesionkit.io import InvalidInputError

__all__ = ["SubmitError", "submit_folder", "zip_masks"]

FINAL = ("scored", "invalid", "failed")


class SubmitError(RuntimeError):
    """The server refused the upload or could not be reached."""


def zip_masks(folder: Path | str, target: Path | str) -> int:
    """Zip every NIfTI file under ``folder`` (paths kept relative); returns how many went in."""
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name.endswith((".nii.gz", ".nii")))
    if not files:
        raise InvalidInputError(folder, "holds no .nii or .nii.gz masks")
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in files:
            zf.write(path, path.relative_to(folder).as_posix())
    return len(files)


def submit_folder(url: str, token: str, phase: str, folder: Path | str, method: str, description: str,
                  code_url: str, timeout: float = 600.0, poll: float = 1.0) -> dict:
    """Upload the masks under ``folder`` to phase ``phase`` and wait (up to ``timeout`` s) for the result."""
    import httpx

    headers = {"Authorization": f"Bearer {token}"}
    base = url.rstrip("/")
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "submission.zip"
        zip_masks(folder, archive)
        try:
            with httpx.Client(timeout=120.0, headers=headers) as client, archive.open("rb") as handle:
                response = client.post(f"{base}/api/phases/{phase}/submissions",
                                       data={"method": method, "description": description, "code_url": code_url},
                                       files={"archive": ("submission.zip", handle, "application/zip")})
                if response.status_code != 201:
                    raise SubmitError(f"upload refused ({response.status_code}): {_detail(response)}")
                submission = response.json()
                deadline = time.monotonic() + timeout
                while submission["status"] not in FINAL:
                    if time.monotonic() > deadline:
                        raise SubmitError(f"submission {submission['id']} not scored after {timeout:g} s")
                    time.sleep(poll)
                    response = client.get(f"{base}/api/submissions/{submission['id']}")
                    if response.status_code != 200:
                        raise SubmitError(f"status check failed ({response.status_code}): {_detail(response)}")
                    submission = response.json()
        except httpx.HTTPError as error:
            raise SubmitError(f"cannot reach {base}: {error}") from None
    return submission


def _detail(response) -> str:  # noqa: ANN001
    try:
        return str(response.json().get("detail"))
    except ValueError:
        return response.text[:200]
