"""The challenge server app: :func:`create_challenge_app` (for tests and ASGI hosts) and :func:`serve`."""

from __future__ import annotations

from pathlib import Path

from lesionkit.web.database import Database

__all__ = ["create_challenge_app", "serve"]

TEMPLATES = Path(__file__).parent / "templates"


def create_challenge_app(db: Database, secure_cookies: bool = False):  # noqa: ANN201
    from lesionkit.challenge.phases import get_challenge
    from lesionkit.challenge.routes import LABELS, api, pages
    from lesionkit.web.app import create_app

    with db.read() as session:
        name = get_challenge(session).name
    app = create_app(name, db, [pages, api], [TEMPLATES], secure_cookies=secure_cookies,
                     description="Hidden-truth lesion-segmentation challenge (lesionkit). Scripts authenticate "
                                 "with `Authorization: Bearer <token>` (`lesionkit challenge token`).")
    app.state.templates.env.globals["labels"] = LABELS
    return app


def serve(db: Database, host: str = "127.0.0.1", port: int = 8000, secure_cookies: bool = False,
          log_level: str = "info") -> None:
    import uvicorn

    uvicorn.run(create_challenge_app(db, secure_cookies), host=host, port=port, log_level=log_level)
