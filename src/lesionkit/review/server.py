"""Starting the review app: where it listens, its access token, the browser.

It listens on 127.0.0.1 by default and then answers only to loopback host names (``127.0.0.1``,
``localhost``, ``[::1]`` with its port), which shuts out web pages that rebind their own name to
127.0.0.1. Bound to any other address it is reachable from other machines, so it makes a random token,
prints the address with it, and refuses every request that does not carry it.
"""

from __future__ import annotations

import ipaddress
import secrets
import socket
from collections.abc import Callable, Sequence

from lesionkit.review.folder import ReviewFolder
from lesionkit.typing import PathLike

__all__ = ["DEFAULT_PORT", "ServerAddressError", "check_address", "is_loopback", "plan_server", "serve_review"]

DEFAULT_PORT = 8765


class ServerAddressError(OSError):
    """The server cannot listen where it was asked to (a port in use, an address not of this machine)."""


def check_address(host: str, port: int) -> None:
    """Raise :class:`ServerAddressError` unless a server could listen on ``host``:``port`` now."""
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise ServerAddressError(f"cannot listen on {host}: {error.strerror}") from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            raise ServerAddressError(f"cannot listen on {host}:{port} ({error.strerror}); choose another --port "
                                     "or --host") from None


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def plan_server(host: str, port: int) -> tuple[str | None, set[str] | None, str]:
    """(token, allowed Host headers, address to open) for a server on ``host``:``port``."""
    if is_loopback(host):
        names = {"127.0.0.1", "localhost", "[::1]", _url_host(host)}
        return None, {f"{name}:{port}" for name in names}, f"http://{_url_host(host)}:{port}/"
    token = secrets.token_urlsafe(24)
    shown = socket.gethostname() if host in ("0.0.0.0", "::") else _url_host(host)
    return token, None, f"http://{shown}:{port}/?token={token}"


def serve_review(
    derivatives: PathLike,
    *,
    t1: PathLike | Sequence[PathLike] | None = None,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    reviewer: str | None = None,
    open_browser: bool = True,
    announce: Callable[[str], None] = print,
) -> None:
    """Find the cases of ``derivatives`` and serve the review app until interrupted (Ctrl-C)."""
    import uvicorn

    from lesionkit.review.routes import create_review_app

    folder = ReviewFolder(derivatives, t1=t1, reviewer=reviewer)
    check_address(host, port)
    token, hosts, address = plan_server(host, port)
    app = create_review_app(folder, token=token, allowed_hosts=hosts)
    flagged = sum(1 for case in folder.cases if case.qc is not None and case.qc.suspect)
    qc = f"{flagged} flagged by QC" if folder.has_qc else "no QC (qc.tsv not found)"
    announce(f"lesionkit review: {len(folder.cases)} case(s) in {derivatives}, {qc}; reviewer {folder.reviewer}")
    for note in folder.notes:
        announce(f"lesionkit review: skipped {note}")
    if token is not None:
        announce(f"lesionkit review: listening on {host}, reachable from other machines: every request needs the "
                 "token in this address")
    announce(f"lesionkit review: open {address}  (Ctrl-C stops)")
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", log_config=None)
    server = uvicorn.Server(config)
    if open_browser:
        import threading
        import webbrowser

        def _open() -> None:
            import time

            while not server.started and not server.should_exit:
                time.sleep(0.05)
            if server.started:
                webbrowser.open(address)

        threading.Thread(target=_open, daemon=True).start()
    server.run()
