"""Pages and API of the challenge server: the participant loop and its security rules (lesionkit.challenge.routes)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from lesionkit.challenge.tables import Phase, Submission
from lesionkit.challenge.worker import work_one
from lesionkit.web.tables import utcnow
from tests.challenge.conftest import csrf, log_in, predictions_zip, sign_up, upload, zip_bytes


def _token(client) -> str:  # noqa: ANN001
    page = client.post("/account/token", data={"label": "t", "csrf_token": csrf(client)})
    return re.search(r'id="token">([^<]+)<', page.text).group(1)


def _set_phase(db, **values) -> None:  # noqa: ANN001
    with db.write() as session:
        phase = session.scalar(select(Phase).where(Phase.name == "test"))
        for key, value in values.items():
            setattr(phase, key, value)


@pytest.fixture
def engine_client(tmp_path, db_url):
    """A client of a server on each real engine (SQLite and PostgreSQL)."""
    from fastapi.testclient import TestClient

    from lesionkit.challenge.server import create_challenge_app
    from tests.challenge.conftest import make_challenge

    db = make_challenge(tmp_path, db_url)
    with TestClient(create_challenge_app(db)) as test_client:
        yield test_client, db
    db.dispose()


def test_sign_up_upload_score_leaderboard(engine_client, tmp_path):
    client, challenge_db = engine_client
    sign_up(client, "alice")
    response = upload(client, predictions_zip(tmp_path, 1, ["r001s001", "r001s002"]))
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert "queued" in page.text
    assert work_one(challenge_db) == "scored"
    page = client.get(response.headers["location"])
    assert 'id="status">scored' in page.text and "<svg" in page.text
    assert "sub-r001s003_ses-1" in page.text  # the missing case is listed
    board = client.get("/phases/test/leaderboard")
    assert "alice" in board.text and 'id="leaderboard"' in board.text
    rows = client.get("/phases/test/leaderboard.json").json()
    assert rows[0]["team"] == "alice" and rows[0]["rank"] == 1
    assert client.get("/phases/test/leaderboard.csv").text.startswith("team,submission,method")
    assert "alice" in client.get("/leaderboard").text


def test_api_token_submit_and_status(client, challenge_db, tmp_path):
    sign_up(client, "bob")
    headers = {"Authorization": f"Bearer {_token(client)}"}
    client.cookies.clear()  # the API must work from the token alone
    form = {"method": "m", "description": "d", "code_url": "https://example.org/x"}
    response = client.post("/api/phases/test/submissions", data=form, headers=headers,
                           files={"archive": ("p.zip", predictions_zip(tmp_path), "application/zip")})
    assert response.status_code == 201, response.text
    submission_id = response.json()["id"]
    work_one(challenge_db)
    body = client.get(f"/api/submissions/{submission_id}", headers=headers).json()
    assert body["status"] == "scored" and body["summary"]["dice"] > 0.5 and len(body["cases"]) == 3
    assert "truth_volume" not in body["cases"][0]
    assert client.get("/api/me", headers=headers).json()["name"] == "bob"


def test_pages_and_api_without_login(client):
    for path in ("/account", "/submissions/1", "/admin"):
        assert client.get(path).status_code == 401
    assert upload(client, b"PK").status_code == 401
    assert client.get("/api/me").status_code == 401
    assert client.get("/api/submissions/1").status_code == 401
    assert client.get("/api/me", headers={"Authorization": "Bearer lk_forged"}).status_code == 401
    form = {"method": "m", "description": "d", "code_url": "https://x.org"}
    response = client.post("/api/phases/test/submissions", data=form,
                           files={"archive": ("p.zip", b"PK", "application/zip")})
    assert response.status_code == 401


def test_api_ignores_the_session_cookie(client):
    sign_up(client, "carol")
    assert client.get("/api/me").status_code == 401  # cookie alone: refused, so the API needs no CSRF


def test_another_users_submission_is_hidden(client, challenge_db, tmp_path):
    sign_up(client, "dave")
    location = upload(client, predictions_zip(tmp_path)).headers["location"]
    token_dave = _token(client)
    client.post("/logout", data={"csrf_token": csrf(client)})
    sign_up(client, "erin")
    assert client.get(location).status_code == 404
    sid = location.rsplit("/", 1)[1]
    erin = {"Authorization": f"Bearer {_token(client)}"}
    assert client.get(f"/api/submissions/{sid}", headers=erin).status_code == 404
    assert client.get(f"/api/submissions/{sid}", headers={"Authorization": f"Bearer {token_dave}"}).status_code == 200


def test_teammates_share_submissions(client, tmp_path):
    sign_up(client, "grace")
    client.post("/logout", data={"csrf_token": csrf(client)})
    sign_up(client, "frank", team="lab-a")
    location = upload(client, predictions_zip(tmp_path)).headers["location"]
    client.post("/account/team/invite", data={"user": "grace", "csrf_token": csrf(client)})
    client.post("/logout", data={"csrf_token": csrf(client)})
    log_in(client, "grace")
    assert client.get(location).status_code == 404
    invitation = client.get("/account").text.split('name="invitation" value="')[1].split('"')[0]
    client.post("/account/team/accept", data={"invitation": invitation, "csrf_token": csrf(client)})
    assert client.get(location).status_code == 200


def test_admin_pages_refused_to_participants(client):
    sign_up(client, "heidi")
    assert client.get("/admin").status_code == 403
    token = csrf(client)
    assert client.post("/admin/phases/test/rescore", data={"csrf_token": token}).status_code == 403
    assert client.post("/admin/phases/test", data={"csrf_token": token, "max_submissions": "99"}).status_code == 403


def test_admin_changes_settings_and_rescores(client, challenge_db, tmp_path):
    log_in(client, "admin")
    assert client.get("/admin").status_code == 200
    form = {"csrf_token": csrf(client), "title": "Test", "max_submissions": "7", "window_hours": "12", "weight": "2",
            "entry_policy": "latest", "metrics": "dice,lesion_f1", "leaderboard_now": "on", "hidden": "on"}
    assert client.post("/admin/phases/test", data=form, follow_redirects=False).status_code == 303
    with challenge_db.read() as session:
        phase = session.scalar(select(Phase))
        assert (phase.max_submissions, phase.metrics, phase.entry_policy) == (7, ["dice", "lesion_f1"], "latest")
        assert (phase.hidden, phase.weight, phase.leaderboard_now, phase.show_per_case) == (True, 2.0, True, False)
    upload(client, predictions_zip(tmp_path))
    work_one(challenge_db)
    assert client.post("/admin/phases/test/rescore", data={"csrf_token": csrf(client)},
                       follow_redirects=False).status_code == 303
    assert work_one(challenge_db) == "scored"


@pytest.mark.parametrize("path", ["/login", "/signup", "/logout", "/account/token", "/account/team",
                                  "/phases/test/submit"])
def test_forms_without_csrf_token_are_refused(client, path):
    sign_up(client, "ivan")
    data = {"login": "ivan", "password": "x" * 12, "name": "mallory", "email": "m@example.org", "label": "x",
            "team": "t1", "method": "m", "description": "d", "code_url": "https://x.org"}
    assert client.post(path, data=data, files={"archive": ("a.zip", b"PK")} if "submit" in path else None
                       ).status_code == 403
    wrong = dict(data, csrf_token="not-the-cookie-value")
    assert client.post(path, data=wrong).status_code == 403


def test_cookies_are_httponly_and_samesite(client):
    response = client.post("/signup", data={"name": "judy", "email": "judy@example.org",
                                            "password": "correct horse battery", "csrf_token": csrf(client)},
                           follow_redirects=False)
    cookie = response.headers["set-cookie"]
    assert "lk_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    client.cookies.clear()
    csrf_cookie = client.get("/login").headers["set-cookie"]
    assert "lk_csrf=" in csrf_cookie and "HttpOnly" in csrf_cookie and "SameSite=strict" in csrf_cookie
    page = client.get("/login")
    assert "default-src 'self'" in page.headers["content-security-policy"] and page.headers["x-frame-options"] == "DENY"


def test_repeated_failed_logins_are_rate_limited(client):
    sign_up(client, "kate")
    client.post("/logout", data={"csrf_token": csrf(client)})
    codes = [client.post("/login", data={"login": "kate", "password": "wrong password!", "csrf_token": csrf(client)}
                         ).status_code for _ in range(6)]
    assert codes[:5] == [400] * 5 and codes[5] == 429
    # now even the right password is refused until the window passes
    assert client.post("/login", data={"login": "kate", "password": "correct horse battery",
                                       "csrf_token": csrf(client)}).status_code == 429


def test_uploads_are_rate_limited(client, challenge_db, tmp_path):
    _set_phase(challenge_db, max_submissions=100)
    sign_up(client, "leo")
    codes = [upload(client, b"not an archive").status_code for _ in range(11)]
    assert codes[:10] == [303] * 10 and codes[10] == 429


def test_oversize_upload_refused(client, challenge_db):
    _set_phase(challenge_db, max_upload_bytes=10_000)
    sign_up(client, "mia")
    response = upload(client, b"\0" * 2_000_000)
    assert response.status_code == 413
    response = upload(client, b"\0" * 20_000)  # under the Content-Length slack: refused while copying
    assert response.status_code == 413 and "limit of 10000 bytes" in response.text
    with challenge_db.read() as session:
        assert session.scalar(select(Submission)) is None


def test_invalid_and_failed_submissions_do_not_count(client, challenge_db, tmp_path):
    _set_phase(challenge_db, max_submissions=1)
    sign_up(client, "nina")
    bad = upload(client, zip_bytes({"sub-r001s001_mask.nii.gz": b"definitely not nifti"}))
    assert work_one(challenge_db) == "invalid"
    page = client.get(bad.headers["location"]).text
    assert "sub-r001s001_mask.nii.gz: is not a NIfTI-1 file" in page
    assert upload(client, predictions_zip(tmp_path)).status_code == 303  # the invalid one did not count
    refused = upload(client, predictions_zip(tmp_path))
    assert refused.status_code == 409 and "limit reached" in refused.text


def test_closed_and_not_yet_open_phases(client, challenge_db, tmp_path):
    sign_up(client, "olga")
    _set_phase(challenge_db, closes_at=utcnow() - dt.timedelta(hours=1))
    assert upload(client, predictions_zip(tmp_path)).status_code == 409
    _set_phase(challenge_db, closes_at=None, opens_at=utcnow() + dt.timedelta(days=1))
    assert "not open" in upload(client, predictions_zip(tmp_path)).text


def test_hidden_leaderboard_before_close(client, challenge_db, tmp_path):
    _set_phase(challenge_db, hidden=True, leaderboard_now=False, show_per_case=False,
               closes_at=utcnow() + dt.timedelta(days=1))
    sign_up(client, "pia")
    location = upload(client, predictions_zip(tmp_path)).headers["location"]
    work_one(challenge_db)
    for path in ("/phases/test/leaderboard", "/phases/test/leaderboard.csv", "/phases/test/leaderboard.json",
                 "/api/phases/test/leaderboard"):
        assert client.get(path).status_code == 403, path
    assert 'id="combined"' not in client.get("/leaderboard").text
    page = client.get(location).text
    assert "withheld" in page and 'id="cases"' not in page
    sid = location.rsplit("/", 1)[1]
    assert client.get(f"/api/submissions/{sid}", headers={"Authorization": f"Bearer {_token(client)}"}
                      ).json()["cases"] is None
    _set_phase(challenge_db, closes_at=utcnow() - dt.timedelta(seconds=1))
    assert "pia" in client.get("/phases/test/leaderboard").text


def test_parent_phase_must_be_passed_first(client, challenge_db, tmp_path):
    from lesionkit.challenge.phases import PhaseSettings, add_phase
    from tests.challenge.conftest import write_truth

    add_phase(challenge_db, "final", write_truth(tmp_path / "truth-final"), PhaseSettings(parent="test"))
    sign_up(client, "quinn")
    refused = upload(client, predictions_zip(tmp_path), phase="final")
    assert refused.status_code == 409 and "scored submission to phase test is needed first" in refused.text
    upload(client, predictions_zip(tmp_path), phase="test")
    assert upload(client, predictions_zip(tmp_path), phase="final").status_code == 409  # queued is not scored
    work_one(challenge_db)
    assert upload(client, predictions_zip(tmp_path), phase="final").status_code == 303


def test_public_test_images_are_served_and_nothing_else(tmp_path):
    import nibabel as nib
    import numpy as np
    from fastapi.testclient import TestClient

    from lesionkit.challenge.phases import PhaseSettings, add_phase
    from lesionkit.challenge.schema import upgrade_database
    from lesionkit.challenge.server import create_challenge_app
    from lesionkit.web.database import Database
    from tests.challenge.conftest import AFFINE, write_truth

    images = tmp_path / "images" / "sub-r001s001" / "ses-1" / "anat"
    images.mkdir(parents=True)
    nib.save(nib.Nifti1Image(np.ones((20, 20, 20), np.float32), AFFINE), images / "sub-r001s001_ses-1_T1w.nii.gz")
    db = Database(str(tmp_path / "c.db"))
    upgrade_database(db)
    add_phase(db, "test", write_truth(tmp_path / "truth"), PhaseSettings(), storage=tmp_path / "store",
              images=tmp_path / "images")
    with TestClient(create_challenge_app(db)) as client:
        page = client.get("/phases/test").text
        assert "sub-r001s001_ses-1_T1w.nii.gz" in page
        image = client.get("/phases/test/images/sub-r001s001_ses-1_T1w.nii.gz")
        assert image.status_code == 200 and image.content[:2] == b"\x1f\x8b"
        for name in ("sub-r001s002_ses-1_T1w.nii.gz", "..%2F..%2Fc.db", "%2E%2E%2Ftruth"):
            assert client.get(f"/phases/test/images/{name}").status_code == 404
    db.dispose()


# --- upload caps on streamed bodies -------------------------------------------------------------------------

@pytest.mark.parametrize("api", [False, True], ids=["page", "api"])
def test_chunked_upload_over_the_cap_is_cut_off(challenge_db, tmp_path, monkeypatch, api):
    """No Content-Length to refuse up front: the cap applies while the body streams in (413 at once, nothing kept)."""
    import tempfile

    import httpx

    from lesionkit.challenge.server import create_challenge_app
    from tests.challenge.conftest import PASSWORD, ChunkedMultipart, LiveServer, open_files_under

    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))  # where Starlette's spooled parts would roll over to
    _set_phase(challenge_db, max_upload_bytes=100_000)
    with LiveServer(create_challenge_app(challenge_db), log_level="warning") as server, \
            httpx.Client(base_url=server.url, timeout=60) as client:
        client.get("/login")
        client.post("/signup", data={"name": "rita", "email": "rita@example.org", "password": PASSWORD,
                                     "csrf_token": client.cookies["lk_csrf"]})
        fields = {"method": "m", "description": "d", "code_url": "https://example.org/c"}
        if api:
            page = client.post("/account/token", data={"label": "t", "csrf_token": client.cookies["lk_csrf"]})
            headers = {"Authorization": "Bearer " + re.search(r'id="token">([^<]+)<', page.text).group(1)}
            client.cookies.clear()
            path = "/api/phases/test/submissions"
        else:
            headers, path = {}, "/phases/test/submit"
            fields["csrf_token"] = client.cookies["lk_csrf"]
        body = ChunkedMultipart(fields, "archive", 512 * 2**20)
        response = client.post(path, content=iter(body), headers={**headers, "Content-Type": body.content_type})
        assert response.status_code == 413 and "limit of 100000 bytes" in response.text
        assert body.sent < 32 * 2**20, body.sent  # read up to the cap (plus socket buffers), not the 512 MiB
    with challenge_db.read() as session:
        assert session.scalar(select(Submission)) is None
        from lesionkit.challenge.phases import get_challenge

        storage = get_challenge(session).storage
    assert [p for p in (tmp_path / "store").rglob("*") if p.is_file() and "truth" not in p.parts] == []
    assert str(tmp_path / "store") == storage
    import gc
    import time

    gc.collect()
    deadline = time.monotonic() + 5
    while open_files_under(spool) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert open_files_under(spool) == [] and list(spool.iterdir()) == []


# --- organiser pages: phases from a truth archive, settings, truth replacement --------------------------------

def _truth_zip(tmp_path, name: str = "truth-upload", shift: int = 0) -> bytes:  # noqa: ANN001
    import nibabel as nib
    import numpy as np

    from tests.challenge.conftest import write_truth, zip_folder

    folder = write_truth(tmp_path / name)
    if shift:
        for path in folder.rglob("*_mask.nii.gz"):
            img = nib.load(path)
            nib.save(nib.Nifti1Image(np.roll(np.asanyarray(img.dataobj), shift, axis=1), img.affine), path)
    return zip_folder(folder, tmp_path / f"{name}.zip").read_bytes()


def _create(client, archive: bytes, **fields):  # noqa: ANN001, ANN202
    data = {"csrf_token": csrf(client), "name": "final", "title": "Final", "max_submissions": "3",
            "window_hours": "24", "metrics": "dice,lesion_f1", **fields}
    return client.post("/admin/phases", data=data, files={"truth": ("truth.zip", archive, "application/zip")},
                       follow_redirects=False)


def _stored_files(tmp_path) -> list[str]:  # noqa: ANN001
    return sorted(str(p.relative_to(tmp_path / "store")) for p in (tmp_path / "store").rglob("*") if p.is_file())


def test_admin_creates_a_phase_from_a_truth_archive(client, challenge_db, tmp_path):
    log_in(client, "admin")
    form = client.get("/admin/phases/new")
    assert form.status_code == 200 and 'action="/admin/phases"' in form.text and 'name="csrf_token"' in form.text
    before = _stored_files(tmp_path)
    response = _create(client, _truth_zip(tmp_path), hidden="on", parent="test", closes_at="2099-01-01T00:00+02:00")
    assert response.status_code == 303 and response.headers["location"] == "/admin"
    with challenge_db.read() as session:
        phase = session.scalar(select(Phase).where(Phase.name == "final"))
        assert (phase.title, phase.hidden, phase.weight, phase.leaderboard_now, phase.show_per_case) == (
            "Final", True, 4.0, False, False)  # a hidden phase's defaults, as `init --hidden`
        assert (phase.parent.name, phase.max_submissions, phase.metrics) == ("test", 3, ["dice", "lesion_f1"])
        assert phase.closes_at == dt.datetime(2098, 12, 31, 22, 0)  # stored as UTC
        assert sorted(c.case_id for c in phase.cases) == [f"sub-r001s00{i}_ses-1" for i in (1, 2, 3)]
        assert phase.grid_shape == [20, 20, 20]
    added = sorted(set(_stored_files(tmp_path)) - set(before))
    # only the opaque truth crops: no scratch folder, no copy of the archive, no original name
    assert len(added) == 3 and all(re.fullmatch(r"truth/final/[0-9a-f]{32}\.npz", p) for p in added), added
    assert "final" in client.get("/admin").text
    upload(client, predictions_zip(tmp_path), phase="final")  # organisers may submit anywhere: the truth works
    assert work_one(challenge_db) == "scored"
    with challenge_db.read() as session:
        assert session.scalar(select(Submission).where(Submission.phase_id == phase.id)).summary["dice"] > 0.5


def test_admin_creates_a_phase_from_a_tar_gz_with_explicit_settings(client, challenge_db, tmp_path):
    import tarfile

    from tests.challenge.conftest import write_truth

    folder = write_truth(tmp_path / "t")
    with tarfile.open(tmp_path / "t.tar.gz", "w:gz") as tf:
        tf.add(folder, arcname="masks")
    log_in(client, "admin")
    response = _create(client, (tmp_path / "t.tar.gz").read_bytes(), name="open-test", hidden="on", weight="2",
                       leaderboard="now", per_case="show", entry_policy="latest")
    assert response.status_code == 303
    with challenge_db.read() as session:
        phase = session.scalar(select(Phase).where(Phase.name == "open-test"))
        assert (phase.weight, phase.leaderboard_now, phase.show_per_case, phase.entry_policy, len(phase.cases)) == (
            2.0, True, True, "latest", 3)


@pytest.mark.parametrize("problem", ["exists", "bad-name", "not-archive", "zip-slip", "huge-header", "no-masks",
                                     "bad-date", "bad-metric", "no-parent"])
def test_admin_phase_form_refuses_bad_input_and_keeps_nothing(client, challenge_db, tmp_path, problem):
    import gzip
    import struct

    log_in(client, "admin")
    archive, fields = _truth_zip(tmp_path), {}
    header = bytearray(348)  # a valid NIfTI-1 header claiming a 4000³ float64 volume (512 GB)
    struct.pack_into("<i", header, 0, 348)
    struct.pack_into("<8h", header, 40, 3, 4000, 4000, 4000, 1, 1, 1, 1)
    struct.pack_into("<hh", header, 70, 64, 64)
    struct.pack_into("<f", header, 108, 352.0)
    header[344:348] = b"n+1\x00"
    archive, expected = {
        "exists": (archive, "exists already"),
        "bad-name": (archive, "phase name"),
        "not-archive": (b"not an archive at all", "is not a .zip or .tar.gz archive"),
        "zip-slip": (zip_bytes({"../sub-r001s001_mask.nii.gz": b"x"}), "member path contains"),
        "huge-header": (zip_bytes({"sub-r001s001_mask.nii.gz": gzip.compress(bytes(header) + bytes(4))}),
                        "more than the limit"),
        "no-masks": (zip_bytes({"README.txt": b"hello"}), "no cases found"),
        "bad-date": (archive, "not a date and time"),
        "bad-metric": (archive, "unknown ranking metrics"),
        "no-parent": (archive, "nope&#39; does not exist"),
    }[problem]
    fields = {"exists": {"name": "test"}, "bad-name": {"name": "Final Phase"}, "bad-date": {"opens_at": "tomorrow"},
              "bad-metric": {"metrics": "dice,karma"}, "no-parent": {"parent": "nope"}}.get(problem, {})
    before = _stored_files(tmp_path)
    response = _create(client, archive, **fields)
    assert response.status_code == 400 and expected in response.text, response.text[-600:]
    assert str(tmp_path) not in response.text  # no server path in the message
    if problem == "huge-header":
        assert "sub-r001s001_mask.nii.gz" in response.text  # the organiser's own member, named inside the archive
    assert _stored_files(tmp_path) == before and not list((tmp_path / "store").glob("truth-unpack-*"))
    with challenge_db.read() as session:
        assert [p.name for p in session.scalars(select(Phase))] == ["test"]


def test_admin_phase_pages_refused_to_others(client, tmp_path):
    archive = {"truth": ("t.zip", _truth_zip(tmp_path), "application/zip")}
    assert client.get("/admin/phases/new").status_code == 401
    assert client.post("/admin/phases", data={"csrf_token": csrf(client), "name": "x"}, files=archive
                       ).status_code == 401
    sign_up(client, "sam")
    token = csrf(client)
    assert client.get("/admin/phases/new").status_code == 403
    assert client.post("/admin/phases", data={"csrf_token": token, "name": "x"}, files=archive).status_code == 403
    assert client.post("/admin/phases/test/truth", data={"csrf_token": token}, files=archive).status_code == 403
    client.post("/logout", data={"csrf_token": token})
    log_in(client, "admin")
    for path in ("/admin/phases", "/admin/phases/test/truth"):  # an organiser's form without its CSRF token
        assert client.post(path, data={"name": "x"}, files=archive).status_code == 403
        assert client.post(path, data={"name": "x", "csrf_token": "forged"}, files=archive).status_code == 403


def test_admin_replaces_the_truth_and_rescores(client, challenge_db, tmp_path):
    log_in(client, "admin")
    upload(client, predictions_zip(tmp_path))
    assert work_one(challenge_db) == "scored"
    with challenge_db.read() as session:
        first = session.scalar(select(Submission)).summary["dice"]
        old_names = {c.storage_name for c in session.scalar(select(Phase)).cases}
    response = client.post("/admin/phases/test/truth", data={"csrf_token": csrf(client)},
                           files={"truth": ("t.zip", _truth_zip(tmp_path, shift=1), "application/zip")},
                           follow_redirects=False)
    assert response.status_code == 303
    with challenge_db.read() as session:
        phase = session.scalar(select(Phase))
        assert phase.truth_version == 2 and not old_names & {c.storage_name for c in phase.cases}
        assert session.scalar(select(Submission)).status == "queued"
    assert not [n for n in old_names if (tmp_path / "store" / "truth" / "test" / n).exists()]
    assert work_one(challenge_db) == "scored"
    with challenge_db.read() as session:
        submission = session.scalar(select(Submission))
        assert submission.truth_version == 2 and submission.summary["dice"] < first
    bad = client.post("/admin/phases/test/truth", data={"csrf_token": csrf(client)},
                      files={"truth": ("t.zip", b"garbage", "application/zip")})
    assert bad.status_code == 400 and "truth archive" in bad.text
    assert client.post("/admin/phases/nope/truth", data={"csrf_token": csrf(client)},
                       files={"truth": ("t.zip", _truth_zip(tmp_path, "t3"), "application/zip")}).status_code == 404


def test_password_change_and_token_revocation_pages(client):
    sign_up(client, "wes")
    token = _token(client)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/me", headers=headers).status_code == 200
    page = client.get("/account").text
    token_id = re.search(r'/account/tokens/(\d+)/revoke', page).group(1)
    assert token not in page  # listed by label and date, never the token
    client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf(client)})
    assert client.get("/api/me", headers=headers).status_code == 401
    wrong = client.post("/account/password", data={"old_password": "not it at all", "new_password": "x" * 12,
                                                   "csrf_token": csrf(client)})
    assert wrong.status_code == 400 and "current password is wrong" in wrong.text
    client.post("/account/password", data={"old_password": "correct horse battery", "new_password": "a brand new one",
                                           "csrf_token": csrf(client)})
    client.post("/logout", data={"csrf_token": csrf(client)})
    assert client.post("/login", data={"login": "wes", "password": "a brand new one", "csrf_token": csrf(client)},
                       follow_redirects=False).status_code == 303


def test_participants_see_the_expected_case_ids(client, tmp_path):
    page = client.get("/phases/test").text
    assert all(f"sub-{s}_ses-1" in page for s in ("r001s001", "r001s002", "r001s003"))
    phases = client.get("/api/phases").json()
    assert phases[0]["case_ids"] == ["sub-r001s001_ses-1", "sub-r001s002_ses-1", "sub-r001s003_ses-1"]


def test_per_case_chart_shows_predicted_not_true_volumes(client, challenge_db, tmp_path):
    from tests.challenge.conftest import truth_array

    sign_up(client, "xan")
    location = upload(client, predictions_zip(tmp_path, 1, ["r001s001"])).headers["location"]
    work_one(challenge_db)
    page = client.get(location).text
    assert "your predicted lesion volume" in page and "true lesion volume" not in page
    true_volume = int(truth_array("r001s002").sum())
    assert f">{true_volume}<" not in page and "truth_volume" not in page
