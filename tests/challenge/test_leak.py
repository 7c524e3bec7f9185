"""No page, API response, log line or CLI output of a full run reveals the hidden truth: not its file names or
paths, not its storage names, not a truth-derived voxel count (the organiser's pages included: a phase created
from an uploaded truth archive, its truth replaced, its settings changed, rescoring)."""

from __future__ import annotations

import datetime as dt
import logging
import re
import zipfile

import httpx
import nibabel as nib
import numpy as np
from sqlalchemy import select

from lesionkit.challenge.server import create_challenge_app
from lesionkit.challenge.tables import Phase, TruthCase
from lesionkit.challenge.worker import work_one
from lesionkit.cli import main
from lesionkit.web.database import Database
from lesionkit.web.tables import utcnow
from tests.challenge.conftest import AFFINE, PASSWORD, TRUTH_BLOBS, LiveServer, truth_array, write_predictions


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def _form(client: httpx.Client, path: str, data: dict, files=None) -> httpx.Response:  # noqa: ANN001
    client.get("/login")
    return client.post(path, data={**data, "csrf_token": client.cookies["lk_csrf"]}, files=files)


def test_full_run_never_reveals_the_truth(tmp_path, capsys):
    truth = tmp_path / "secret-truth"
    from tests.challenge.conftest import write_truth

    write_truth(truth)
    db_path = tmp_path / "c.db"
    handler = _Collect()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    bodies: list[str] = []
    try:
        assert main(["challenge", "init", str(db_path), "--name", "Leak test", "--phase", "test", "--truth", str(truth),
                     "--hidden", "--closes", (utcnow() + dt.timedelta(days=1)).isoformat(),
                     "--admin", "admin", "--admin-email", "admin@example.org"]) == 0
        init_out = capsys.readouterr().out
        bodies.append(init_out)
        admin_password = re.search(r"shown once\): (\S+)", init_out).group(1)
        db = Database(str(db_path))
        preds = write_predictions(tmp_path / "preds", subjects=["r001s001", "r001s002"])  # r001s003 missing
        (preds / "README.txt").write_text("extra file")
        good = preds_zip = tmp_path / "good.zip"
        with zipfile.ZipFile(good, "w") as zf:
            for path in preds.iterdir():
                zf.write(path, path.name)
        nan = np.zeros((20, 20, 20), np.float32)
        nan[1, 1, 1] = np.nan
        nib.save(nib.Nifti1Image(nan, AFFINE), tmp_path / "sub-r001s001_mask.nii.gz")
        bad = tmp_path / "bad.zip"
        with zipfile.ZipFile(bad, "w") as zf:
            zf.write(tmp_path / "sub-r001s001_mask.nii.gz", "sub-r001s001_mask.nii.gz")
        nib.save(nib.Nifti1Image(np.zeros((20, 20, 21), np.uint8), AFFINE), tmp_path / "sub-r001s002_mask.nii.gz")
        grid = tmp_path / "grid.zip"
        with zipfile.ZipFile(grid, "w") as zf:
            zf.write(tmp_path / "sub-r001s002_mask.nii.gz", "sub-r001s002_mask.nii.gz")

        with LiveServer(create_challenge_app(db), log_level="debug") as server, \
                httpx.Client(base_url=server.url, follow_redirects=True) as client:
            get = lambda path, **kw: bodies.append(client.get(path, **kw).text)  # noqa: E731
            for path in ("/", "/phases/test", "/leaderboard", "/phases/test/leaderboard", "/openapi.json",
                         "/api/phases", "/api/phases/test/leaderboard", "/submissions/1", "/admin", "/nope"):
                get(path)
            bodies.append(_form(client, "/signup", {"name": "alice", "email": "alice@example.org",
                                                    "password": PASSWORD}).text)
            meta = {"method": "m", "description": "d", "code_url": "https://example.org/c"}
            for archive in (good, bad, grid):
                with archive.open("rb") as handle:
                    response = _form(client, "/phases/test/submit", meta, files={"archive": (archive.name, handle)})
                bodies.append(response.text)
            while work_one(db) is not None:
                pass
            token_page = _form(client, "/account/token", {"label": "x"}).text
            bodies.append(token_page)
            headers = {"Authorization": "Bearer " + re.search(r'id="token">([^<]+)<', token_page).group(1)}
            for sid in (1, 2, 3):
                get(f"/submissions/{sid}")
                get(f"/api/submissions/{sid}", headers=headers)
            assert "is not a NIfTI" not in bodies[-1]
            with db.write() as session:  # the phase closes: its leaderboard is published
                session.scalar(select(Phase)).closes_at = utcnow() - dt.timedelta(minutes=1)
            for path in ("/phases/test/leaderboard", "/phases/test/leaderboard.csv", "/phases/test/leaderboard.json",
                         "/leaderboard", "/api/phases/test/leaderboard"):
                get(path)
                get(path, headers=headers)
            client.cookies.clear()
            bodies.append(_form(client, "/login", {"login": "admin", "password": admin_password}).text)
            for path in ("/admin", "/phases/test/leaderboard", "/phases/test/leaderboard.json", "/leaderboard",
                         "/admin/phases/new"):
                get(path)
            # the organiser pages: a new phase from a truth archive, its settings, a truth replacement, rescoring
            truth_zip = tmp_path / "secret-truth.zip"
            with zipfile.ZipFile(truth_zip, "w") as zf:
                for path in sorted(truth.rglob("*.nii.gz")):
                    zf.write(path, path.relative_to(tmp_path).as_posix())  # members start with secret-truth/
            settings = {"name": "final", "title": "Final", "hidden": "on", "parent": "test", "max_submissions": "2",
                        "window_hours": "24", "metrics": "dice,lesion_f1"}
            for path, data in (("/admin/phases", settings), ("/admin/phases/final/truth", {})):
                with truth_zip.open("rb") as handle:
                    response = _form(client, path, data, files={"truth": (truth_zip.name, handle)})
                assert response.status_code == 200 and response.url.path == "/admin", (path, response.text[-500:])
                bodies.append(response.text)
            bodies.append(_form(client, "/admin/phases/final", {**settings, "weight": "3", "leaderboard_now": "on",
                                                                "show_per_case": "on", "entry_policy": "best"}).text)
            bodies.append(_form(client, "/admin/phases/test/rescore", {}).text)
            with preds_zip.open("rb") as handle:  # the organiser's own check of the new phase
                bodies.append(_form(client, "/phases/final/submit", meta, files={"archive": ("p.zip", handle)}).text)
            while work_one(db) is not None:
                pass
            for path in ("/admin", "/phases/final", "/phases/final/leaderboard", "/phases/final/leaderboard.csv",
                         "/leaderboard", "/api/phases"):
                get(path)
        with db.read() as session:
            storage_names = [c.storage_name for c in session.scalars(select(TruthCase))]
        db.dispose()
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)

    text = "\n".join(bodies + handler.lines)
    assert "alice" in text and "sub-r001s003_ses-1" in text and "HTTP/1.1" in text  # the run did happen
    assert "phase final created with 3 hidden cases" in text and "/admin/phases/final/truth" in text
    assert "holds NaN" in text and "differ from the phase grid" in text
    forbidden = [str(truth), truth.name, "desc-T1lesion", str(tmp_path / "c.db.files"), "truth/test", *storage_names]
    forbidden += [p.name for p in truth.rglob("*.nii.gz")]
    for needle in forbidden:
        assert needle not in text, needle
    counts = [int(truth_array(s).sum()) for s in TRUTH_BLOBS]
    counts.append(sum(counts))
    for count in counts:
        pattern = rf"(?<![\w.]){count}(?:\.0+)?(?![\w])"
        assert re.search(pattern, text) is None, (count, re.search(rf".{{80}}{pattern}.{{40}}", text, re.S))
