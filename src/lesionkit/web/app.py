"""The FastAPI app factory and the request helpers every lesionkit web app uses: templates, the signed-in
user (opaque session cookie or API bearer token), CSRF checks on forms, security headers and error pages."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

from lesionkit import __version__
from lesionkit.web import auth
from lesionkit.web.database import Database
from lesionkit.web.tables import User

__all__ = [
    "CSRF_COOKIE",
    "SESSION_COOKIE",
    "STATIC",
    "TEMPLATES",
    "api_user",
    "check_csrf",
    "create_app",
    "page_user",
    "render",
    "set_session_cookie",
]

log = logging.getLogger("lesionkit.web")
SESSION_COOKIE = "lk_session"
CSRF_COOKIE = "lk_csrf"
TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")


def create_app(title: str, db: Database, routers: Sequence, template_dirs: Iterable[Path] = (),
               secure_cookies: bool = False, description: str = ""):  # noqa: ANN201
    """A FastAPI app serving ``routers``, with ``db`` and the templates on ``app.state``."""
    import jinja2
    from fastapi import FastAPI, HTTPException, Request
    from fastapi.exception_handlers import request_validation_exception_handler
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from fastapi.staticfiles import StaticFiles
    from fastapi.templating import Jinja2Templates

    app = FastAPI(title=title, version=__version__, description=description, docs_url="/api/docs", redoc_url=None)
    loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(d)) for d in [*template_dirs, TEMPLATES]])
    env = jinja2.Environment(loader=loader, autoescape=jinja2.select_autoescape(["html"]))
    env.filters["when"] = lambda value: value.strftime("%Y-%m-%d %H:%M") if value else "—"  # UTC, to the minute
    app.state.db, app.state.templates = db, Jinja2Templates(env=env)
    app.state.secure_cookies, app.state.title = secure_cookies, title
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    for router in routers:
        app.include_router(router)

    @app.middleware("http")
    async def csrf_cookie_and_headers(request: Request, call_next):  # noqa: ANN001, ANN202
        token = request.cookies.get(CSRF_COOKIE)
        fresh = not token or len(token) > 100
        request.state.csrf = auth.new_csrf_token() if fresh else token
        response = await call_next(request)
        if fresh:
            response.set_cookie(CSRF_COOKIE, request.state.csrf, httponly=True, samesite="strict",
                                secure=secure_cookies, path="/")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", _CSP)
        return response

    def wants_json(request: Request) -> bool:
        return request.url.path.startswith("/api/") or request.url.path.endswith(".json")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):  # noqa: ANN202
        if wants_json(request):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        return render(request, "error.html", {"status": exc.status_code, "message": exc.detail},
                      status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):  # noqa: ANN202
        if wants_json(request):  # FastAPI's own body, as the OpenAPI schema documents it
            return await request_validation_exception_handler(request, exc)
        problems = "; ".join(f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg')}" for e in exc.errors())
        return render(request, "error.html", {"status": 422, "message": problems}, status_code=422)

    return app


def render(request, template: str, context: dict | None = None, status_code: int = 200, headers=None):  # noqa: ANN001, ANN201
    """Render a page with the signed-in user, the CSRF token and the app title in its context."""
    user = getattr(request.state, "user", None)
    # An app without accounts (the review app: db None) ignores a session cookie another app on this host set.
    if user is None and SESSION_COOKIE in request.cookies and request.app.state.db is not None:
        user = page_user(request)
    context = {"user": user, "csrf": request.state.csrf, "title": request.app.state.title, **(context or {})}
    return request.app.state.templates.TemplateResponse(request, template, context, status_code=status_code,
                                                        headers=headers)


def page_user(request) -> User | None:  # noqa: ANN001
    """The user of the browser session cookie (None when signed out or expired)."""
    if hasattr(request.state, "user"):
        return request.state.user
    db: Database = request.app.state.db
    with db.read() as session:
        user = auth.user_for_session(session, request.cookies.get(SESSION_COOKIE))
        if user is not None:
            _ = user.team  # loaded while the session is open
    request.state.user = user
    return user


def api_user(request) -> User | None:  # noqa: ANN001
    """The user of an ``Authorization: Bearer <token>`` header; cookies are never accepted by the API (so the
    API needs no CSRF protection)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    db: Database = request.app.state.db
    with db.read() as session:
        user = auth.user_for_token(session, token.strip())
        if user is not None:
            _ = user.team
    return user


def check_csrf(request, form) -> None:  # noqa: ANN001
    """Refuse a form whose hidden ``csrf_token`` does not match the CSRF cookie (403)."""
    from fastapi import HTTPException

    if not auth.csrf_matches(request.cookies.get(CSRF_COOKIE), form.get("csrf_token")):
        raise HTTPException(403, "the form's security token is missing or stale; reload the page and try again")


def set_session_cookie(request, response, token: str | None) -> None:  # noqa: ANN001
    if token is None:
        response.delete_cookie(SESSION_COOKIE, path="/")
    else:
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", path="/",
                            secure=request.app.state.secure_cookies, max_age=int(auth.SESSION_LIFETIME.total_seconds()))
