"""The running server stays responsive and believes only trusted proxies (lesionkit.challenge.server, web.app):
the issue's attacks against a real uvicorn on loopback."""

from __future__ import annotations

import statistics
import threading
import time

import httpx
import pytest

from lesionkit.web.app import client_address, safe_next
from tests.challenge.conftest import PASSWORD, LiveServer, csrf, log_in, sign_up


def test_forty_failed_logins_leave_a_static_file_fast(challenge_db):
    """The issue: 40 failed logins (argon2 and a SQLite write in ``async def`` handlers) made a 3 ms static file
    take 7.3 s. Hashing now runs on its own two threads, off the event loop."""
    from lesionkit.challenge.server import create_challenge_app

    with LiveServer(create_challenge_app(challenge_db), log_level="warning") as server:
        with httpx.Client(base_url=server.url) as probe:
            probe.get("/login")
            baseline = [_timed(probe, "/static/style.css") for _ in range(5)]
            token = probe.cookies["lk_csrf"]

            def fail(i: int) -> None:
                with httpx.Client(base_url=server.url, cookies={"lk_csrf": token}, timeout=120) as attacker:
                    response = attacker.post("/login", data={"login": f"nobody{i}", "password": "wrong password!",
                                                             "csrf_token": token})
                    codes.append(response.status_code)

            codes: list[int] = []
            threads = [threading.Thread(target=fail, args=(i,)) for i in range(40)]
            for thread in threads:
                thread.start()
            time.sleep(0.3)  # the burst is under way
            during = []
            while any(t.is_alive() for t in threads) and len(during) < 20:
                during.append(_timed(probe, "/static/style.css"))
                time.sleep(0.05)
            for thread in threads:
                thread.join()
    assert codes.count(400) == 40
    assert len(during) >= 3, "the logins finished before the static file was timed"
    assert statistics.median(during) < 0.2 and max(during) < 0.5, (baseline, during)


def _timed(client: httpx.Client, path: str) -> float:
    start = time.perf_counter()
    assert client.get(path).status_code == 200
    return time.perf_counter() - start


def test_right_password_from_another_client_is_not_locked_out(challenge_db):
    """The issue: 5 wrong passwords from anywhere locked the account (the organiser's too) for 15 minutes."""
    from fastapi.testclient import TestClient

    from lesionkit.challenge.server import create_challenge_app

    app = create_challenge_app(challenge_db)
    with TestClient(app, client=("203.0.113.9", 4000)) as attacker:
        codes = [attacker.post("/login", data={"login": "admin", "password": "guess guess guess",
                                               "csrf_token": csrf(attacker)}).status_code for _ in range(6)]
        assert codes[:5] == [400] * 5 and codes[5] == 429
    with TestClient(app, client=("198.51.100.7", 4000)) as owner:
        log_in(owner, "admin")
        assert owner.get("/admin").status_code == 200


def test_forwarded_for_is_believed_from_trusted_proxies_only(challenge_db):
    from fastapi.testclient import TestClient

    from lesionkit.challenge.server import create_challenge_app

    spoof = {"X-Forwarded-For": "1.1.1.1"}
    app = create_challenge_app(challenge_db)  # no proxy configured: the header is ignored, even from loopback
    with TestClient(app, client=("127.0.0.1", 4000)) as local:
        codes = [local.post("/login", headers=spoof, data={"login": "admin", "password": "guess guess guess",
                                                           "csrf_token": csrf(local)}).status_code for _ in range(6)]
        assert codes[5] == 429
        rotated = {"X-Forwarded-For": "2.2.2.2"}  # a new claimed address does not reset the back-off
        assert local.post("/login", headers=rotated, data={"login": "admin", "password": "guess guess guess",
                                                           "csrf_token": csrf(local)}).status_code == 429
    proxied = create_challenge_app(challenge_db, trusted_proxies=["10.0.0.0/8"])
    with TestClient(proxied, client=("10.1.2.3", 4000)) as proxy:
        response = proxy.post("/login", headers={"X-Forwarded-For": "9.9.9.9, 10.0.0.5"},
                              data={"login": "admin", "password": PASSWORD, "csrf_token": csrf(proxy)},
                              follow_redirects=False)
        assert response.status_code == 303


class _Request:
    def __init__(self, peer: str, forwarded: str | None, trusted: list[str]) -> None:
        import ipaddress
        from types import SimpleNamespace

        self.client = SimpleNamespace(host=peer)
        from starlette.datastructures import Headers

        self.headers = Headers({"x-forwarded-for": forwarded} if forwarded else {})
        self.app = SimpleNamespace(state=SimpleNamespace(trusted_proxies=[ipaddress.ip_network(t) for t in trusted]))


@pytest.mark.parametrize("peer, forwarded, trusted, expected", [
    ("127.0.0.1", "6.6.6.6", [], "127.0.0.1"),
    ("10.0.0.2", "6.6.6.6", ["10.0.0.0/8"], "6.6.6.6"),
    ("10.0.0.2", "7.7.7.7, 6.6.6.6, 10.0.0.9", ["10.0.0.0/8"], "6.6.6.6"),  # the client can prepend anything
    ("10.0.0.2", None, ["10.0.0.0/8"], "10.0.0.2"),
    ("8.8.8.8", "6.6.6.6", ["10.0.0.0/8"], "8.8.8.8"),
])
def test_client_address(peer, forwarded, trusted, expected):
    assert client_address(_Request(peer, forwarded, trusted)) == expected


@pytest.mark.parametrize("target, expected", [
    ("/phases/test", "/phases/test"), ("//evil.example", "/"), ("/\\evil.example", "/"),
    ("https://evil.example", "/"), ("", "/"), ("/ok\r\nSet-Cookie: x", "/"),
])
def test_next_stays_on_this_site(target, expected):
    assert safe_next(target) == expected


def test_login_redirect_ignores_off_site_next(client):
    sign_up(client, "uma")
    client.post("/logout", data={"csrf_token": csrf(client)})
    response = client.post("/login", data={"login": "uma", "password": PASSWORD, "next": "//evil.example/x",
                                           "csrf_token": csrf(client)}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/"
