"""Request bodies capped while they stream in (lesionkit.web.uploads): a chunked upload past the cap is refused
with 413 as soon as the cap is passed, the server stops reading, and no temporary file stays behind."""

from __future__ import annotations

import gc
import tempfile
import time

import pytest

pytest.importorskip("fastapi")

import httpx  # noqa: E402
from fastapi import FastAPI, File, Request, UploadFile  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from lesionkit.web.uploads import limit_body, limited_body_route  # noqa: E402
from tests.challenge.conftest import ChunkedMultipart, LiveServer, open_files_under  # noqa: E402

CAP = 64 * 1024
#: What a chunked client sends when nothing stops it (the server must stop long before).
BODY = 256 * 2**20


def _app() -> FastAPI:
    app = FastAPI()

    @app.post("/form")
    async def form_route(request: Request):  # noqa: ANN202
        form = await limit_body(request, CAP, "too large for this test").form()
        try:
            return {"bytes": len(await form["archive"].read())}
        finally:
            await form.close()

    def upload_route(archive: UploadFile = File(...)):  # noqa: ANN202, B008
        return {"bytes": len(archive.file.read())}

    app.router.add_api_route("/api", upload_route, methods=["POST"],
                             route_class_override=limited_body_route(lambda request: (CAP, "too large (API)")))
    return app


@pytest.fixture
def spool(tmp_path, monkeypatch):
    """Starlette's spooled upload parts roll over into this folder (tempfile's default directory)."""
    folder = tmp_path / "spool"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.mark.parametrize("path", ["/form", "/api"])
def test_chunked_body_over_the_cap_is_cut_off(spool, path):
    body = ChunkedMultipart({"note": "x"}, "archive", BODY)
    with LiveServer(_app(), log_level="warning") as server, httpx.Client(base_url=server.url, timeout=60) as client:
        response = client.post(path, content=iter(body), headers={"Content-Type": body.content_type})
        assert response.status_code == 413 and "too large" in response.text
        assert response.headers["connection"] == "close"  # the server stops reading instead of draining the rest
        assert "content-length" not in {k.lower() for k in response.request.headers}  # it really was chunked
        # the server read at most what the client produced: a few socket buffers past the cap, not the body
        assert body.sent < 32 * 2**20, body.sent
        assert client.post(path, files={"archive": ("a.zip", b"\1" * 1000)}).json() == {"bytes": 1000}
    gc.collect()
    deadline = time.monotonic() + 5
    while open_files_under(spool) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert open_files_under(spool) == [] and list(spool.iterdir()) == []


@pytest.mark.parametrize("path", ["/form", "/api"])
def test_declared_length_over_the_cap_is_refused_before_reading(path):
    with TestClient(_app()) as client:
        response = client.post(path, files={"archive": ("a.zip", b"\0" * (2 * CAP))})
        assert response.status_code == 413
        assert client.post(path, content=b"x", headers={"Content-Length": "nonsense",
                                                        "Content-Type": "multipart/form-data; boundary=b"}
                           ).status_code == 413
