"""The review app's routes: thin, each one call of :class:`~lesionkit.review.ReviewFolder`.

Pages: ``/`` (the case list, flagged first) and ``/cases/{id}`` (the niivue viewer). Volumes:
``/cases/{id}/background.nii.gz``, ``/cases/{id}/mask/{version}.nii.gz`` (the current mask, only under its
current version) and ``/cases/{id}/automatic.nii.gz``. JSON: ``GET /api/cases``, ``GET /api/cases/{id}``,
``POST /api/cases/{id}/correction`` and ``POST /api/cases/{id}/status``.

Every request passes :func:`create_review_app`'s guard first: the ``Host`` header must be one the server
listens as (a page of another site that rebinds its name to 127.0.0.1 is refused), and with a token (a
server bound to a non-loopback address) the request must carry it (``?token=`` once, which sets a cookie,
then the cookie, or ``Authorization: Bearer``). A POST must be JSON, come from the app's own origin and
carry the page's CSRF token in ``X-CSRF-Token``; its body is read up to a limit set by the grid's size.
Needs ``lesionkit[server]`` (FastAPI) at import.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from lesionkit.io import InvalidInputError
from lesionkit.review.corrections import StaleVersionError, UnsafeWriteError
from lesionkit.review.folder import CaseNotFoundError, ReviewFolder
from lesionkit.review.payload import PayloadError, max_payload_bytes

__all__ = ["TOKEN_COOKIE", "create_review_app"]

TOKEN_COOKIE = "lk_review_token"
TEMPLATES = Path(__file__).parent / "templates"
#: The status body of a decision request is tiny; anything larger is refused unread.
_STATUS_LIMIT = 4096


def _matches(given: str | None, token: str) -> bool:
    return bool(given) and hmac.compare_digest(given.encode(), token.encode())


def _check_write(request: Request) -> None:
    """A POST from the app's own page: JSON, same origin, the page's CSRF token."""
    from lesionkit.web import auth
    from lesionkit.web.app import CSRF_COOKIE

    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise HTTPException(415, "send JSON (Content-Type: application/json)")
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    if origin is not None and origin != own:
        raise HTTPException(403, f"cross-origin request refused (Origin {origin}, expected {own})")
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise HTTPException(403, "cross-site request refused")
    if not auth.csrf_matches(request.cookies.get(CSRF_COOKIE), request.headers.get("x-csrf-token")):
        raise HTTPException(403, "the page's security token is missing or stale; reload the page")


async def _read_json(request: Request, limit: int) -> dict:
    """The JSON object of a POST body, read only up to ``limit`` bytes (:func:`lesionkit.web.uploads.limit_body`)."""
    from lesionkit.web.uploads import limit_body

    body = await limit_body(request, limit, f"request body larger than {limit} bytes: nothing was written").body()
    try:
        payload = json.loads(body)
    except ValueError:
        raise HTTPException(400, "the request body is not JSON: nothing was written") from None
    if not isinstance(payload, dict):
        raise HTTPException(400, "the request body must be a JSON object")
    return payload


def _refused(error: Exception) -> HTTPException:
    if isinstance(error, StaleVersionError):
        return HTTPException(409, str(error), headers={"X-Current-Version": error.current})
    if isinstance(error, UnsafeWriteError):
        return HTTPException(403, str(error))
    if isinstance(error, InvalidInputError):
        return HTTPException(422, str(error))
    return HTTPException(400, str(error))


def _case_of(folder: ReviewFolder, case_id: str):  # noqa: ANN202
    try:
        return folder.case(case_id)
    except CaseNotFoundError as error:
        raise HTTPException(404, str(error)) from None


def _neighbours(folder: ReviewFolder, case_id: str) -> tuple[str | None, str | None]:
    ids = [row["id"] for row in folder.listing()]
    at = ids.index(case_id)
    return (ids[at - 1] if at > 0 else None), (ids[at + 1] if at + 1 < len(ids) else None)


def _volume(data: bytes) -> Response:
    return Response(data, media_type="application/octet-stream", headers={"Cache-Control": "no-store"})


def _page_routes(router: APIRouter, folder: ReviewFolder) -> None:
    """The case list, the viewer and the volumes it loads."""
    from lesionkit.review.volumes import image_bytes, mask_bytes
    from lesionkit.web.app import render

    @router.get("/", include_in_schema=False)
    def case_list(request: Request):  # noqa: ANN202
        rows = folder.listing()
        return render(request, "cases.html", {"rows": rows, "folder": folder, "has_qc": folder.has_qc,
                                              "flagged": sum(1 for r in rows if r["qc_flag"] not in (None, "ok"))})

    @router.get("/cases/{case_id}", include_in_schema=False)
    def viewer(request: Request, case_id: str):  # noqa: ANN202
        case = _case_of(folder, case_id)
        detail = folder.detail(case.id)
        previous, following = _neighbours(folder, case.id)
        return render(request, "viewer.html", {"case": detail, "previous": previous, "next": following,
                                               "reviewer": folder.reviewer, "config": json.dumps(detail)})

    @router.get("/cases/{case_id}/background.nii.gz", include_in_schema=False)
    def background(case_id: str) -> Response:
        return _volume(image_bytes(_case_of(folder, case_id).background))

    @router.get("/cases/{case_id}/mask/{version}.nii.gz", include_in_schema=False)
    def current_mask(case_id: str, version: str) -> Response:
        case = _case_of(folder, case_id)
        if version != folder.version(case):
            raise HTTPException(409, f"{case.id} changed since this page was loaded; reload it")
        return _volume(mask_bytes(folder.current_mask(case)))

    @router.get("/cases/{case_id}/automatic.nii.gz", include_in_schema=False)
    def automatic_mask(case_id: str) -> Response:
        return _volume(mask_bytes(_case_of(folder, case_id).mask))


def _api_routes(router: APIRouter, folder: ReviewFolder) -> None:
    """The JSON API: cases, and the two writes (a correction, a decision)."""

    @router.get("/api/cases")
    def api_cases() -> list[dict]:
        return folder.listing()

    @router.get("/api/cases/{case_id}")
    def api_case(case_id: str) -> dict:
        return folder.detail(_case_of(folder, case_id).id)

    @router.post("/api/cases/{case_id}/correction")
    async def save_correction(request: Request, case_id: str) -> dict:
        case = _case_of(folder, case_id)
        _check_write(request)
        payload = await _read_json(request, max_payload_bytes(case.shape))
        try:
            saved = await run_in_threadpool(folder.save_drawing, case.id, payload)
        except (StaleVersionError, UnsafeWriteError, PayloadError, InvalidInputError, ValueError) as error:
            raise _refused(error) from None
        return {"version": saved.version, "path": saved.path.name, "voxels_added": saved.voxels_added,
                "voxels_removed": saved.voxels_removed, "lesion_voxels": saved.lesion_voxels,
                "revision": saved.revision, "reviewer": saved.sidecar["Correction"]["reviewer"],
                "time": saved.sidecar["Correction"]["time"], "since_previous": saved.sidecar["Correction"].get(
                    "since_previous")}

    @router.post("/api/cases/{case_id}/status")
    async def set_status(request: Request, case_id: str) -> dict:
        case = _case_of(folder, case_id)
        _check_write(request)
        payload = await _read_json(request, _STATUS_LIMIT)
        status, version, reviewer = payload.get("status"), payload.get("version"), payload.get("reviewer")
        if not all(isinstance(v, str) for v in (status, version)) or not isinstance(reviewer, str | None):
            raise HTTPException(400, "send status, version (and optionally reviewer) as strings")
        try:
            decision = await run_in_threadpool(lambda: folder.set_status(case.id, status, version=version,
                                                                         reviewer=reviewer))
        except (StaleVersionError, ValueError) as error:
            raise _refused(error) from None
        return {"id": case.id, "status": decision.status if decision else "to review",
                "reviewer": decision.reviewer if decision else None, "time": decision.time if decision else None}


def _guard(hosts: set[str] | None, token: str | None):  # noqa: ANN202
    """The middleware every request passes first: its ``Host`` must be one of ``hosts`` (None: any) and, with a
    ``token``, it must carry it (``?token=`` once, which sets a cookie and redirects; the cookie; or a bearer)."""

    async def guard(request: Request, call_next):  # noqa: ANN001, ANN202
        host = request.headers.get("host", "").lower()
        if hosts is not None and host not in hosts:
            return PlainTextResponse(f"this review server does not answer to host {host!r}", status_code=421)
        if token is not None:
            given = request.query_params.get("token")
            if given is not None and _matches(given, token):
                kept = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
                target = request.url.path + ("?" + urlencode(kept) if kept else "")
                response = RedirectResponse(target, status_code=303)
                response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict", path="/")
                return response
            scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
            if not (_matches(request.cookies.get(TOKEN_COOKIE), token)
                    or (scheme.lower() == "bearer" and _matches(bearer.strip(), token))):
                return PlainTextResponse("this review server needs its access token: open the address that "
                                         "`lesionkit review` printed when it started", status_code=401)
        return await call_next(request)

    return guard


def create_review_app(folder: ReviewFolder, *, token: str | None = None,
                      allowed_hosts: Iterable[str] | None = None):  # noqa: ANN201
    """The FastAPI app over ``folder``. ``token``: required on every request (set it whenever the server is
    reachable from other machines). ``allowed_hosts``: the ``Host`` header values accepted (``host:port``),
    None for any."""
    from lesionkit.web.app import create_app

    router = APIRouter()
    _page_routes(router, folder)
    _api_routes(router, folder)
    app = create_app("lesionkit review", None, [router], template_dirs=[TEMPLATES],  # type: ignore[arg-type]
                     description="Review and correct automatic lesion masks (lesionkit review).")
    # FastAPI's interactive docs load Swagger UI from a CDN: this app loads nothing from other sites.
    app.router.routes = [r for r in app.router.routes if not getattr(r, "path", "").startswith("/api/docs")]

    @app.exception_handler(InvalidInputError)
    async def invalid_input(request: Request, exc: InvalidInputError):  # noqa: ANN202
        """A mask or image that cannot be read: the error page (or JSON) names the file and the problem."""
        return await app.exception_handlers[HTTPException](request, HTTPException(422, str(exc)))

    hosts = None if allowed_hosts is None else {h.lower() for h in allowed_hosts}
    app.middleware("http")(_guard(hosts, token))
    app.state.folder = folder
    return app
