"""HTTP routes of the challenge server, one module per domain (each with its templates in
``templates/<domain>/``): :mod:`.accounts` (accounts and teams), :mod:`.phases` (phases and organisers),
:mod:`.submissions`, :mod:`.leaderboards`, and :mod:`.api` (the JSON API). Each route parses its request,
calls library functions (where the rules live) and renders the result; blocking work runs off the event loop.

Pages authenticate with the opaque session cookie and check CSRF on every form; the API takes only bearer
tokens. Hidden truth never reaches a route: scoring stores metrics only, and what participants see passes
:mod:`lesionkit.challenge.disclosure` first.
"""

from lesionkit.challenge.routes import accounts, api, leaderboards, phases, submissions  # noqa: F401  (registers)
from lesionkit.challenge.routes.common import LABELS, pages
from lesionkit.challenge.routes.common import api as api_router

__all__ = ["LABELS", "api_router", "pages"]
