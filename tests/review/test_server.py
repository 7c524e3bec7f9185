"""Where the review server listens (lesionkit.review.server): loopback without a token, elsewhere with one."""

from __future__ import annotations

import socket

import pytest

from lesionkit.review.server import ServerAddressError, check_address, is_loopback, plan_server


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True),
                                                ("[::1]", True), ("localhost", True), ("0.0.0.0", False),
                                                ("192.168.1.20", False), ("my-workstation", False), ("::", False)])
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_loopback_needs_no_token_but_answers_only_to_loopback_names():
    token, hosts, address = plan_server("127.0.0.1", 8765)
    assert token is None and address == "http://127.0.0.1:8765/"
    assert hosts == {"127.0.0.1:8765", "localhost:8765", "[::1]:8765"}


def test_any_other_address_gets_a_fresh_token_in_the_printed_address():
    token, hosts, address = plan_server("0.0.0.0", 9000)
    again, _, _ = plan_server("0.0.0.0", 9000)
    assert hosts is None and len(token) >= 32 and token != again
    assert address.endswith(f":9000/?token={token}") and address.startswith(f"http://{socket.gethostname()}:")
    token, _, address = plan_server("192.0.2.7", 9000)
    assert address == f"http://192.0.2.7:9000/?token={token}"


def test_a_port_in_use_is_found_before_serving():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ServerAddressError, match="choose another --port"):
            check_address("127.0.0.1", port)
    with pytest.raises(ServerAddressError):
        check_address("no-such-host.invalid", 8765)
