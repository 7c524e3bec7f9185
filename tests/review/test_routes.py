"""The review app over HTTP (lesionkit.review.routes): pages, volumes, saves, and every refusal.

Security: case ids that try to be paths, requests to another Host (DNS rebinding), requests without the
token of a server reachable from other machines, cross-site or token-less saves, and malformed or
oversized payloads are refused, and a refused save writes nothing.
"""

from __future__ import annotations

import base64
import gzip
import re

import nibabel as nib
import numpy as np
import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from lesionkit.io import file_sha256
from lesionkit.review import ReviewFolder, encode_drawing, niivue_order, to_niivue  # noqa: E402
from lesionkit.review.routes import TOKEN_COOKIE, create_review_app  # noqa: E402
from tests.review._folders import write_folder  # noqa: E402

BASE = "http://127.0.0.1:8765"
OBLIQUE = "sub-r001s003_ses-1"


@pytest.fixture
def folder(tmp_path):
    return ReviewFolder(write_folder(tmp_path / "deriv"), reviewer="ada")


@pytest.fixture
def client(folder):
    with TestClient(create_review_app(folder, allowed_hosts={"127.0.0.1:8765"}), base_url=BASE) as c:
        yield c


def _csrf(client) -> str:
    client.get("/")
    return client.cookies["lk_csrf"]


def _headers(client, **extra) -> dict:
    return {"Content-Type": "application/json", "X-CSRF-Token": _csrf(client), "Origin": BASE, **extra}


def _payload(folder, case_id, edit) -> dict:  # noqa: ANN001
    """What the viewer sends after ``edit`` (a function of the mask on its own grid)."""
    case = folder.case(case_id)
    mask = np.asanyarray(nib.load(folder.current_mask(case)).dataobj) != 0
    drawing = to_niivue(edit(mask.copy()), case.affine)
    return {**encode_drawing(drawing, niivue_order(case.affine, case.shape)), "base_version": folder.version(case)}


def _erase_small_lesion(mask):
    mask[-4:-2, -4:-2, -3:-1] = False
    return mask


def _untouched(folder, case_id) -> bool:
    case = folder.case(case_id)
    return not case.corrected.exists() and not (folder.root / "review.tsv").exists()


# --- pages and volumes ---------------------------------------------------------------------------------

def test_case_list_puts_the_flagged_case_first(client):
    page = client.get("/")
    assert page.status_code == 200
    ids = re.findall(r'data-case="([^"]+)"', page.text)
    assert ids == ["sub-r001s002_ses-1", "sub-r001s003_ses-1", "sub-r001s001_ses-1"]
    assert "flip-TTA Dice 0.41; volume outlier" in page.text and "1 flagged by QC" in page.text


def test_without_qc_the_page_says_so(tmp_path):
    folder = ReviewFolder(write_folder(tmp_path / "deriv", qc=False))
    with TestClient(create_review_app(folder)) as client:
        page = client.get("/")
    assert "no QC" in page.text and re.findall(r'data-case="([^"]+)"', page.text)[0] == "sub-r001s001_ses-1"


def test_viewer_page_loads_only_local_scripts_and_carries_the_grid(client, folder):
    page = client.get(f"/cases/{OBLIQUE}")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]*)"', page.text)
    assert "/static/review/viewer.js" in sources
    assert all(s.startswith(("/", "#", "data:")) and not s.startswith("//") for s in sources), sources
    assert not re.search(r"https?://", page.text)
    assert "script-src 'self'" in page.headers["content-security-policy"]
    config = re.search(r'data-config="([^"]+)"', page.text).group(1)
    assert "&#34;perm_ras&#34;: [-3, 1, -2]" in config  # HTML-escaped JSON in an attribute
    assert folder.version(folder.case(OBLIQUE)) in config


def test_volumes_are_niivue_ready_and_the_mask_is_served_under_its_version_only(client, folder):
    case = folder.case(OBLIQUE)
    background = nib.Nifti1Image.from_bytes(gzip.decompress(client.get(f"/cases/{OBLIQUE}/background.nii.gz").content))
    assert np.allclose(background.affine, case.affine)
    served = client.get(f"/cases/{OBLIQUE}/mask/{folder.version(case)}.nii.gz")
    mask = nib.Nifti1Image.from_bytes(gzip.decompress(served.content))
    assert mask.get_data_dtype() == np.uint8 and int(mask.header["qform_code"]) == 0
    assert np.allclose(mask.header.get_sform(), case.affine, atol=1e-5)
    assert np.array_equal(np.asanyarray(mask.dataobj), np.asanyarray(nib.load(case.mask).dataobj))
    assert client.get(f"/cases/{OBLIQUE}/mask/{'0' * 64}.nii.gz").status_code == 409


def test_a_qform_that_niivue_would_prefer_is_re_encoded(tmp_path):
    from lesionkit.review.volumes import image_bytes

    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    img = nib.Nifti1Image(np.ones((4, 5, 6), np.float32), affine)
    img.set_qform(np.diag([-1.0, 1.0, 1.0, 1.0]), code=2)  # niivue would take this, nibabel takes the sform
    img.set_sform(affine, code=1)
    nib.save(img, tmp_path / "t1.nii.gz")
    served = nib.Nifti1Image.from_bytes(gzip.decompress(image_bytes(tmp_path / "t1.nii.gz")))
    assert int(served.header["qform_code"]) == 0 and np.array_equal(served.affine, affine)


# --- saving --------------------------------------------------------------------------------------------

def test_save_writes_the_correction_on_the_mask_grid(client, folder):
    payload = _payload(folder, OBLIQUE, _erase_small_lesion)
    response = client.post(f"/api/cases/{OBLIQUE}/correction", json=payload, headers=_headers(client))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["voxels_added"], body["voxels_removed"], body["revision"], body["reviewer"]) == (0, 8, 1, "ada")
    case = folder.case(OBLIQUE)
    written = np.asanyarray(nib.load(case.corrected).dataobj) != 0
    assert np.array_equal(written, _erase_small_lesion(np.asanyarray(nib.load(case.mask).dataobj) != 0))
    assert body["version"] == file_sha256(case.corrected)
    listed = client.get("/api/cases").json()
    assert next(r for r in listed if r["id"] == OBLIQUE)["corrected"]


def test_the_second_of_two_tabs_is_refused_with_409_and_nothing_is_written(client, folder):
    tab_one = _payload(folder, OBLIQUE, _erase_small_lesion)
    tab_two = _payload(folder, OBLIQUE, lambda m: np.ones_like(m))  # loaded at the same time
    assert client.post(f"/api/cases/{OBLIQUE}/correction", json=tab_one, headers=_headers(client)).status_code == 200
    case = folder.case(OBLIQUE)
    saved = file_sha256(case.corrected)
    refused = client.post(f"/api/cases/{OBLIQUE}/correction", json=tab_two, headers=_headers(client))
    assert refused.status_code == 409
    assert "saved by ada" in refused.json()["detail"] and "nothing was written" in refused.json()["detail"]
    assert refused.headers["x-current-version"] == saved == file_sha256(case.corrected)


@pytest.mark.parametrize(("change", "status"), [
    ({"dims": [1, 2, 3]}, 400),
    ({"perm_ras": [1, 2, 3]}, 400),
    ({"base_version": "abc"}, 400),
    ({"count": 0}, 400),
    ({"encoding": "png"}, 400),
    ({"reviewer": "x" * 81}, 400),
    ({"reviewer": 5}, 400),
])
def test_malformed_payloads_are_400_and_write_nothing(client, folder, change, status):
    payload = {**_payload(folder, OBLIQUE, _erase_small_lesion), **change}
    response = client.post(f"/api/cases/{OBLIQUE}/correction", json=payload, headers=_headers(client))
    assert response.status_code == status, response.text
    assert _untouched(folder, OBLIQUE)


def test_a_bitmap_of_the_wrong_length_is_400_and_writes_nothing(client, folder):
    payload = _payload(folder, OBLIQUE, _erase_small_lesion)
    short = gzip.compress(bytes(len(gzip.decompress(base64.b64decode(payload["data"]))) - 1))
    payload["data"] = base64.b64encode(short).decode()
    response = client.post(f"/api/cases/{OBLIQUE}/correction", json=payload, headers=_headers(client))
    assert response.status_code == 400 and "expected" in response.json()["detail"]
    assert _untouched(folder, OBLIQUE)


def test_bodies_that_are_not_json_objects_or_too_large_are_refused(client, folder):
    url = f"/api/cases/{OBLIQUE}/correction"
    assert client.post(url, content=b"{not json", headers=_headers(client)).status_code == 400
    assert client.post(url, json=[1, 2], headers=_headers(client)).status_code == 400
    huge = {**_payload(folder, OBLIQUE, _erase_small_lesion), "data": "A" * 1_000_000}
    response = client.post(url, json=huge, headers=_headers(client))
    assert response.status_code == 413 and "nothing was written" in response.json()["detail"]

    def chunks():  # no Content-Length: the limit holds while streaming
        for _ in range(40):
            yield b" " * 50_000

    assert client.post(url, content=chunks(), headers=_headers(client)).status_code == 413
    assert _untouched(folder, OBLIQUE)


def test_saves_without_the_csrf_token_from_another_origin_or_as_a_form_are_refused(client, folder):
    url = f"/api/cases/{OBLIQUE}/correction"
    payload = _payload(folder, OBLIQUE, _erase_small_lesion)
    good = _headers(client)
    assert client.post(url, json=payload, headers={**good, "X-CSRF-Token": "forged"}).status_code == 403
    assert client.post(url, json=payload, headers={k: v for k, v in good.items() if k != "X-CSRF-Token"}
                       ).status_code == 403
    assert client.post(url, json=payload, headers={**good, "Origin": "https://evil.example"}).status_code == 403
    assert client.post(url, json=payload, headers={**good, "Sec-Fetch-Site": "cross-site"}).status_code == 403
    form = client.post(url, data={"data": "x"}, headers={"X-CSRF-Token": good["X-CSRF-Token"], "Origin": BASE})
    assert form.status_code == 415
    assert _untouched(folder, OBLIQUE)


def test_accept_reject_over_http(client, folder):
    case = folder.case("sub-r001s002_ses-1")
    url = f"/api/cases/{case.id}/status"
    ok = client.post(url, json={"status": "accepted", "version": folder.version(case)}, headers=_headers(client))
    assert ok.status_code == 200 and ok.json()["status"] == "accepted" and ok.json()["reviewer"] == "ada"
    assert "accepted" in (folder.root / "review.tsv").read_text()
    stale = client.post(url, json={"status": "rejected", "version": "0" * 64}, headers=_headers(client))
    assert stale.status_code == 409
    assert client.post(url, json={"status": "maybe", "version": folder.version(case)},
                       headers=_headers(client)).status_code == 400
    assert client.post(url, json={"status": 1}, headers=_headers(client)).status_code == 400
    assert client.post(url, content=b"x" * 5000, headers=_headers(client)).status_code == 413


# --- paths, hosts, tokens ------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    "/cases/..%2F..%2Fetc%2Fpasswd", "/cases/%2e%2e%2fsub-r001s001_ses-1", "/cases//etc/passwd",
    "/cases/sub-r001s001_ses-1%2F..%2F..", "/api/cases/..%2Fsub-r001s001_ses-1", "/api/cases/%2Fetc%2Fpasswd",
    "/cases/sub-r001s001_ses-1%00/background.nii.gz", "/cases/%2e%2e/background.nii.gz",
    "/static/..%2F..%2Freview%2Fcases.py", "/static/../../../etc/passwd",
])
def test_traversal_in_case_ids_and_static_paths_is_404(client, path):
    response = client.get(path)
    assert response.status_code == 404, (path, response.status_code)
    assert "root:" not in response.text and "def discover_cases" not in response.text


@pytest.mark.parametrize("case_id", ["..%2Fsub-r001s001_ses-1", "%2Fetc%2Fpasswd", "sub-r001s001_ses-1%2F..",
                                     "%2e%2e"])
def test_saves_to_traversing_ids_are_refused_and_write_nothing(client, folder, case_id):
    payload = _payload(folder, "sub-r001s001_ses-1", _erase_small_lesion)
    response = client.post(f"/api/cases/{case_id}/correction", json=payload, headers=_headers(client))
    assert response.status_code in (404, 405)
    assert _untouched(folder, "sub-r001s001_ses-1")
    assert sorted(p.name for p in folder.root.iterdir()) == ["dataset_description.json", "qc.tsv",
                                                              "sub-r001s001", "sub-r001s002", "sub-r001s003"]


def test_other_host_headers_are_refused(client):
    assert client.get("/", headers={"Host": "evil.example:8765"}).status_code == 421
    assert client.get("/", headers={"Host": "127.0.0.1:9999"}).status_code == 421
    assert client.get("/").status_code == 200


def test_without_the_token_every_request_is_refused(folder):
    app = create_review_app(folder, token="s3cret-token")
    with TestClient(app, base_url="http://192.0.2.10:8765") as client:
        for path in ("/", f"/cases/{OBLIQUE}", "/api/cases", "/static/niivue/niivue.js", "/static/review/viewer.js",
                     f"/cases/{OBLIQUE}/background.nii.gz", "/api/docs", "/openapi.json"):
            response = client.get(path)
            assert response.status_code == 401 and "access token" in response.text, path
        assert client.get("/?token=wrong").status_code == 401
        assert client.get("/", headers={"Authorization": "Bearer wrong"}).status_code == 401
        client.cookies.set(TOKEN_COOKIE, "wrong")
        assert client.get("/").status_code == 401
        client.cookies.clear()
        payload = _payload(folder, OBLIQUE, _erase_small_lesion)
        posted = client.post(f"/api/cases/{OBLIQUE}/correction", json=payload,
                             headers={"Content-Type": "application/json"})
        assert posted.status_code == 401 and _untouched(folder, OBLIQUE)
        assert client.get("/", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
        entry = client.get(f"/cases/{OBLIQUE}?token=s3cret-token&x=1", follow_redirects=False)
        assert entry.status_code == 303 and entry.headers["location"] == f"/cases/{OBLIQUE}?x=1"
        assert "httponly" in entry.headers["set-cookie"].lower() and "samesite=strict" in entry.headers[
            "set-cookie"].lower()
        assert client.get(f"/cases/{OBLIQUE}").status_code == 200  # the cookie now


def test_another_apps_session_cookie_on_this_host_is_ignored(client):
    client.cookies.set("lk_session", "from-the-challenge-server")
    assert client.get("/").status_code == 200


def test_api_lists_cases_and_details(client):
    listed = client.get("/api/cases").json()
    assert [r["id"] for r in listed][0] == "sub-r001s002_ses-1"
    detail = client.get(f"/api/cases/{OBLIQUE}").json()
    assert detail["grid"]["perm_ras"] == [-3, 1, -2] and len(detail["lesions"]) == 2
    assert client.get("/api/cases/sub-r001s009_ses-1").status_code == 404


def test_an_unreadable_mask_is_named_and_does_not_hide_the_other_cases(tmp_path):
    root = write_folder(tmp_path / "deriv")
    folder = ReviewFolder(root)
    case = folder.case("sub-r001s002_ses-1")
    data = np.asanyarray(nib.load(case.mask).dataobj).astype(np.float32) * 0.5  # 0/0.5: not a binary mask
    nib.save(nib.Nifti1Image(data, case.affine), case.mask)
    case.mask.with_name(case.mask.name.replace(".nii.gz", ".json")).unlink()  # no voxel count to fall back on
    with TestClient(create_review_app(folder)) as client:
        page = client.get("/")
        assert page.status_code == 200 and "unreadable" in page.text and "sub-r001s001_ses-1" in page.text
        viewer = client.get(f"/cases/{case.id}")
        assert viewer.status_code == 422 and case.mask.name in viewer.text
        assert client.get(f"/api/cases/{case.id}").status_code == 422


def test_no_page_loads_from_a_cdn_not_even_the_api_docs(client):
    assert client.get("/api/docs").status_code == 404  # Swagger UI would load from jsdelivr
    assert client.get("/openapi.json").status_code == 200
