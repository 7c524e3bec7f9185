"""The challenge server app: :func:`create_challenge_app` (for tests and ASGI hosts) and :func:`serve`."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from lesionkit.web.database import Database

__all__ = ["create_challenge_app", "serve"]

TEMPLATES = Path(__file__).parent / "templates"


def create_challenge_app(db: Database, secure_cookies: bool = False, trusted_proxies: Iterable[str] = ()):  # noqa: ANN201
    """The app; ``trusted_proxies``: reverse proxies whose ``X-Forwarded-For`` names the client (login throttling
    and sign-up limits count per client). Starting, it removes what killed processes left in storage."""
    from lesionkit.challenge.phases import get_challenge
    from lesionkit.challenge.routes import LABELS, api_router, pages
    from lesionkit.challenge.storage import clean_database_storage
    from lesionkit.web.app import create_app

    with db.read() as session:
        name = get_challenge(session).name
    app = create_app(name, db, [pages, api_router], [TEMPLATES], secure_cookies=secure_cookies,
                     description="Hidden-truth lesion-segmentation challenge (lesionkit). Scripts authenticate "
                                 "with an 'Authorization: Bearer TOKEN' header (from 'lesionkit challenge token').",
                     trusted_proxies=trusted_proxies, docs=True, on_startup=[lambda: clean_database_storage(db)])
    app.state.templates.env.globals["labels"] = LABELS
    return app


def serve(db: Database, host: str = "127.0.0.1", port: int = 8000, secure_cookies: bool = False,
          log_level: str = "info", trusted_proxies: Iterable[str] = ()) -> None:
    import uvicorn

    # uvicorn's own proxy handling believes X-Forwarded-For from 127.0.0.1 by default (spoofable by any local
    # client); the app decides instead, from ``trusted_proxies`` only.
    uvicorn.run(create_challenge_app(db, secure_cookies, trusted_proxies), host=host, port=port, log_level=log_level,
                proxy_headers=False)
