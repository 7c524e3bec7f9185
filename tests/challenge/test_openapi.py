"""``schemathesis run --checks all`` against the OpenAPI schema passes (lesionkit.challenge.routes.api)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from lesionkit.challenge import submissions
from lesionkit.challenge.server import create_challenge_app
from lesionkit.challenge.submissions import create_submission
from lesionkit.challenge.tables import Phase
from lesionkit.challenge.worker import work_one
from lesionkit.web import auth
from lesionkit.web.tables import User
from tests.challenge.conftest import LiveServer, make_challenge, predictions_zip


@pytest.mark.slow
def test_schemathesis_finds_no_problem(tmp_path, monkeypatch):
    executable = Path(sys.executable).with_name("schemathesis")
    if not executable.exists() and shutil.which("schemathesis") is None:
        pytest.skip("schemathesis is not installed")
    db = make_challenge(tmp_path)
    archive = tmp_path / "p.zip"
    archive.write_bytes(predictions_zip(tmp_path))
    with db.write() as session:  # a scored submission, so the fuzzer can follow links to real resources
        user = session.scalar(select(User))
        phase = session.scalar(select(Phase))
        phase.max_submissions = 10**6
        with archive.open("rb") as handle:
            create_submission(session, phase, user, handle, "m", "d", "https://example.org")
        token = auth.create_api_token(session, user)
    work_one(db)
    monkeypatch.setattr(submissions, "UPLOADS_PER_10_MIN", 10**6)  # the fuzzer uploads hundreds of times
    with LiveServer(create_challenge_app(db), log_level="warning") as server:
        result = subprocess.run(
            [str(executable if executable.exists() else shutil.which("schemathesis")), "run",
             f"{server.url}/openapi.json", "--checks", "all", "--max-examples", "25", "--workers", "1",
             "--seed", "1", "-H", f"Authorization: Bearer {token}"],
            capture_output=True, text=True, timeout=600, cwd=tmp_path,
        )
    db.dispose()
    assert result.returncode == 0, result.stdout[-4000:]
    assert "No issues found" in result.stdout
