"""What a hidden phase reveals (lesionkit.challenge.disclosure), tested as the issue's attack: an all-ones mask on one
case and nothing else, whose exact mean precision × grid volume was that case's true volume."""

from __future__ import annotations

import io
import math
import re
import zipfile

import nibabel as nib
import numpy as np
import pytest
from sqlalchemy import select

from lesionkit.challenge.leaderboard import leaderboard_csv, phase_leaderboard, public_table
from lesionkit.challenge.tables import Phase, Submission
from lesionkit.challenge.worker import work_one
from lesionkit.metrics import ATLAS_RANKING_METRICS
from tests.challenge.conftest import AFFINE, SHAPE, TRUTH_BLOBS, csrf, make_challenge, sign_up, truth_array

CASES = sorted(TRUTH_BLOBS)


def _probe(subject: str) -> bytes:
    """All ones on ``subject``'s case, nothing for the others (scored as empty predictions)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"sub-{subject}_ses-1_space-MNI152NLin2009aSym_label-L_desc-pred_mask.nii.gz",
                    nib.Nifti1Image(np.ones(SHAPE, np.uint8), AFFINE).to_bytes())
    return buffer.getvalue()


@pytest.fixture
def hidden(tmp_path):
    """A hidden phase whose leaderboard shows now, with a total cap below the number of cases."""
    from fastapi.testclient import TestClient

    from lesionkit.challenge.server import create_challenge_app

    db = make_challenge(tmp_path, hidden=True, leaderboard_now=True, max_total=len(CASES) - 1)
    with TestClient(create_challenge_app(db)) as client:
        sign_up(client, "probe")
        page = client.post("/account/token", data={"label": "t", "csrf_token": csrf(client)})
        client.headers["Authorization"] = "Bearer " + re.search(r'id="token">([^<]+)<', page.text).group(1)
        yield client, db
    db.dispose()


def _submit(client, subject: str):  # noqa: ANN001, ANN202
    form = {"method": "probe", "description": "all ones", "code_url": "https://example.org/p"}
    return client.post("/api/phases/test/submissions", data=form,
                       files={"archive": ("p.zip", _probe(subject), "application/zip")})


def _rounded(value: float, digits: int = 3) -> bool:
    return value == float(f"{value:.{digits}g}")


def test_hidden_phase_defaults(tmp_path):
    db = make_challenge(tmp_path, hidden=True)
    with db.read() as session:
        phase = session.scalar(select(Phase))
        assert phase.shown_metrics == list(ATLAS_RANKING_METRICS) and phase.significant_digits == 3
        assert phase.max_total == 10 and not phase.show_per_case
    db.dispose()


def test_all_ones_probe_recovers_no_volume_and_runs_out(hidden):
    client, db = hidden
    n, grid_mm3 = len(CASES), float(np.prod(SHAPE))  # 1 mm voxels
    shown = []
    for subject in CASES[:-1]:
        response = _submit(client, subject)
        assert response.status_code == 201, response.text
        assert work_one(db) == "scored"
        body = client.get(f"/api/submissions/{response.json()['id']}").json()
        assert body["cases"] is None  # no per-case row
        assert set(body["summary"]) == set(ATLAS_RANKING_METRICS)  # no precision, TPR or distances
        assert all(_rounded(v) for v in body["summary"].values())
        shown.append(body["summary"])
    refused = _submit(client, CASES[-1])  # the series needs one probe per case; the cap stops it first
    assert refused.status_code == 409 and "limit reached" in refused.json()["detail"]
    # One probe's mean volume difference is (G - 2 v_i + S) / n; a rounded mean fixes n × mean only to
    # n × (half a rounding step): far wider than one voxel, so no volume comes out exact.
    for figures in shown:
        mean = figures["volume_difference"]
        step = 10 ** (math.floor(math.log10(abs(mean))) - 2)
        assert n * step / 2 > 1.0
    with db.read() as session:  # the organiser's exact figures differ from what the participant saw
        exact = [s.summary["volume_difference"] for s in session.scalars(select(Submission).order_by(Submission.id))]
    truth = {s: int(truth_array(s).sum()) for s in CASES}
    for subject, value in zip(CASES, exact, strict=False):
        assert value == pytest.approx((grid_mm3 - 2 * truth[subject] + sum(truth.values())) / n)
    assert any(e != s["volume_difference"] for e, s in zip(exact, shown, strict=True))


def test_invalid_uploads_use_up_their_own_cap(hidden):
    client, db = hidden
    with db.write() as session:
        session.scalar(select(Phase)).max_failed = 2
    form = {"method": "m", "description": "d", "code_url": "https://example.org/p"}
    for _ in range(2):
        response = client.post("/api/phases/test/submissions", data=form,
                               files={"archive": ("p.zip", b"not an archive", "application/zip")})
        assert response.status_code == 201
        assert work_one(db) == "invalid"
    response = client.post("/api/phases/test/submissions", data=form,
                           files={"archive": ("p.zip", _probe(CASES[0]), "application/zip")})
    assert response.status_code == 409 and "invalid or failed" in response.json()["detail"]


def test_hidden_leaderboard_shows_ranking_metrics_rounded(hidden):
    client, db = hidden
    _submit(client, CASES[0])
    work_one(db)
    rows = client.get("/api/phases/test/leaderboard").json()
    means = {k: v for k, v in rows[0].items() if k.endswith("_mean")}
    assert set(means) == {f"{m}_mean" for m in ATLAS_RANKING_METRICS}
    assert all(_rounded(v) for v in means.values())
    assert "precision_mean" not in client.get("/phases/test/leaderboard.csv").text


def test_csv_cells_that_look_like_formulas_are_escaped(tmp_path):
    import pandas as pd

    table = pd.DataFrame({"team": ["=cmd"], "method": ['=HYPERLINK("http://evil.example","x")'],
                          "code_url": ["+1"], "score": [-1.5]})
    text = leaderboard_csv(table)
    assert "'=HYPERLINK" in text and "'=cmd" in text and "'+1" in text
    assert text.strip().endswith(",-1.5")  # numbers stay numbers
    db = make_challenge(tmp_path)
    with db.read() as session:
        phase = session.scalar(select(Phase))
        assert public_table(phase_leaderboard(session, phase), phase, None).empty
    db.dispose()
