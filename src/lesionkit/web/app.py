"""The FastAPI app factory and the request helpers every lesionkit web app uses: templates, the signed-in
user (opaque session cookie or API bearer token), CSRF checks on forms, security headers and error pages."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TypeVar

from lesionkit import __version__
from lesionkit.web import auth
from lesionkit.web.database import Database
from lesionkit.web.tables import User

__all__ = [
    "HASH_THREADS",
    "THREADS",
    "CSRF_COOKIE",
    "SESSION_COOKIE",
    "STATIC",
    "TEMPLATES",
    "api_user",
    "blocking",
    "check_csrf",
    "client_address",
    "create_app",
    "hashing",
    "safe_next",
    "page_user",
    "render",
    "set_session_cookie",
]

log = logging.getLogger("lesionkit.web")
SESSION_COOKIE = "lk_session"
CSRF_COOKIE = "lk_csrf"
TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
#: Worker threads for blocking work (sync routes, database); the database pool has as many connections.
THREADS = 40
#: Threads for password hashing (argon2 takes ~50 ms of CPU and 64 MiB): few, and apart from :data:`THREADS`, so a
#: burst of sign-ins queues behind itself and never starves page and static-file requests of threads.
HASH_THREADS = 2
T = TypeVar("T")
_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")


def create_app(title: str, db: Database, routers: Sequence, template_dirs: Iterable[Path] = (),
               secure_cookies: bool = False, description: str = "", trusted_proxies: Iterable[str] = (),
               docs: bool = False, on_startup: Iterable[Callable[[], None]] = ()):  # noqa: ANN201
    """A FastAPI app serving ``routers``, with ``db`` and the templates on ``app.state``.

    ``trusted_proxies``: addresses or networks of reverse proxies whose ``X-Forwarded-For`` is believed
    (:func:`client_address`); from anyone else the header is ignored. ``docs``: serve ``/api/docs``, a page of
    the OpenAPI schema rendered on the server (no script, no CDN). ``on_startup``: blocking calls run once, in a
    thread, when the server starts.
    """
    import contextlib

    import anyio
    import jinja2
    from fastapi import FastAPI, HTTPException, Request
    from fastapi.exception_handlers import request_validation_exception_handler
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from fastapi.staticfiles import StaticFiles
    from fastapi.templating import Jinja2Templates

    @contextlib.asynccontextmanager
    async def lifespan(app):  # noqa: ANN001, ANN202
        anyio.to_thread.current_default_thread_limiter().total_tokens = THREADS
        app.state.hash_limiter = anyio.CapacityLimiter(HASH_THREADS)
        for call in on_startup:
            await anyio.to_thread.run_sync(call)
        yield

    app = FastAPI(title=title, version=__version__, description=description, docs_url=None, redoc_url=None,
                  lifespan=lifespan)
    app.state.trusted_proxies = [ipaddress.ip_network(p, strict=False) for p in trusted_proxies]
    loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(d)) for d in [*template_dirs, TEMPLATES]])
    env = jinja2.Environment(loader=loader, autoescape=jinja2.select_autoescape(["html"]))
    env.filters["when"] = lambda value: value.strftime("%Y-%m-%d %H:%M") if value else "—"  # UTC, to the minute
    app.state.db, app.state.templates = db, Jinja2Templates(env=env)
    app.state.secure_cookies, app.state.title = secure_cookies, title
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    for router in routers:
        app.include_router(router)
    if docs:
        from lesionkit.web.apidocs import docs_router

        app.include_router(docs_router())

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


def page_user(request, session=None) -> User | None:  # noqa: ANN001
    """The user of the browser session cookie (None when signed out or expired), looked up once per request
    (in ``session`` when the route has one open: one database session per request). Blocking: call it from
    a sync route or a worker thread."""
    if hasattr(request.state, "user"):
        return request.state.user
    token = request.cookies.get(SESSION_COOKIE)
    user = None
    if token:
        user = _with_session(request, session, lambda s: auth.user_for_session(s, token))
    request.state.user = user
    return user


def _with_session(request, session, lookup):  # noqa: ANN001, ANN202
    if session is not None:
        user = lookup(session)
        if user is not None:
            _ = user.team
        return user
    db: Database = request.app.state.db
    with db.read() as own:
        user = lookup(own)
        if user is not None:
            _ = user.team  # loaded while the session is open
        return user


def bearer_token(request) -> str | None:  # noqa: ANN001
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def api_user(request, session=None) -> User | None:  # noqa: ANN001
    """The user of an ``Authorization: Bearer <token>`` header; cookies are never accepted by the API (so the
    API needs no CSRF protection). Blocking, like :func:`page_user`."""
    if hasattr(request.state, "api_user"):
        return request.state.api_user
    token = bearer_token(request)
    user = _with_session(request, session, lambda s: auth.user_for_token(s, token)) if token else None
    request.state.api_user = user
    return user


async def blocking(request, call: Callable[..., T], *args) -> T:  # noqa: ANN001
    """Run blocking ``call(*args)`` (database work) in a worker thread, off the event loop."""
    import anyio

    return await anyio.to_thread.run_sync(call, *args)


async def hashing(request, call: Callable[..., T], *args) -> T:  # noqa: ANN001
    """Run ``call(*args)``, which hashes or verifies a password, on the few password-hashing threads
    (:data:`HASH_THREADS`)."""
    import anyio

    return await anyio.to_thread.run_sync(call, *args, limiter=request.app.state.hash_limiter)


def client_address(request) -> str:  # noqa: ANN001
    """The client's address: the peer's, unless the peer is a configured trusted proxy; then the right-most
    ``X-Forwarded-For`` entry that is not itself a trusted proxy (what the outermost trusted proxy saw).
    A client cannot spoof it by sending the header itself: untrusted peers' headers are ignored."""
    peer = request.client.host if request.client else "unknown"
    trusted = getattr(request.app.state, "trusted_proxies", [])

    def is_trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in trusted)

    if not is_trusted(peer):
        return peer
    hops = [h.strip() for h in ",".join(request.headers.getlist("x-forwarded-for")).split(",") if h.strip()]
    for hop in reversed(hops):
        if not is_trusted(hop):
            return hop[:64]
    return peer


def safe_next(target: str | None) -> str:
    """A post-login redirect target that stays on this site: a local path ("/…"), never "//host" or "/\\host"."""
    target = (target or "").strip()
    if not target.startswith("/") or target.startswith(("//", "/\\")) or any(c in target for c in "\r\n\\"):
        return "/"
    return target


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
