"""``lesionkit review``: arguments, exit codes, and a real server process (loopback, and bound elsewhere with a
token that every request needs)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from lesionkit.cli import main
from tests.review._folders import write_folder

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_bad_arguments_exit_2_and_bad_input_exits_3(tmp_path, capsys):
    folder = write_folder(tmp_path / "deriv")
    assert main(["review", str(folder), "--no-browser", "--port", "0"]) == 2
    assert "--port" in capsys.readouterr().err
    assert main(["review", str(folder), "--no-browser", "--reviewer", " "]) == 2
    assert main(["review", str(tmp_path / "missing"), "--no-browser"]) == 3
    assert "invalid input" in capsys.readouterr().err
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        assert main(["review", str(folder), "--no-browser", "--port", str(busy.getsockname()[1])]) == 2
    assert "choose another --port" in capsys.readouterr().err


def test_the_command_passes_its_arguments_to_serve_review(tmp_path, monkeypatch):
    import lesionkit.review.server as server

    seen = {}
    monkeypatch.setattr(server, "serve_review", lambda derivatives, **kw: seen.update(kw, derivatives=derivatives))
    folder = write_folder(tmp_path / "deriv")
    assert main(["review", str(folder), "--t1", "raw", "--port", "9001", "--host", "0.0.0.0", "--reviewer", "ada",
                 "--no-browser"]) == 0
    assert seen == {"derivatives": str(folder), "t1": ["raw"], "host": "0.0.0.0", "port": 9001, "reviewer": "ada",
                    "open_browser": False}


class _Server:
    """``lesionkit review`` in a child process; the address it prints."""

    def __init__(self, folder: Path, host: str) -> None:
        self.port = _free_port()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[2] / "src"),
                                                            os.environ.get("PYTHONPATH", "")])}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "lesionkit", "review", str(folder), "--host", host, "--port", str(self.port),
             "--no-browser", "--reviewer", "ada"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        self.lines: list[str] = []
        deadline = time.monotonic() + 60
        while not any("open http" in line for line in self.lines):
            assert time.monotonic() < deadline and self.process.poll() is None, self.lines
            self.lines.append(self.process.stdout.readline())
        self.address = next(line for line in self.lines if "open http" in line).split("open ")[1].split()[0]
        while True:  # the address is printed just before uvicorn binds
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.1)

    def get(self, path: str, headers: dict | None = None) -> tuple[int, str]:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8", "replace")

    def raw(self, path: str) -> str:
        """The status line for a request line sent as is (no client-side normalisation of ``..``)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nConnection: close\r\n\r\n".encode())
            return sock.recv(65536).decode("latin-1").split("\r\n")[0]

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(20)
        finally:
            if self.process.poll() is None:
                self.process.kill()
            self.process.stdout.close()


def test_on_loopback_it_serves_without_a_token_and_refuses_traversal(tmp_path):
    folder = write_folder(tmp_path / "deriv")
    server = _Server(folder, "127.0.0.1")
    try:
        assert server.address == f"http://127.0.0.1:{server.port}/"
        assert "3 case(s)" in "".join(server.lines) and "1 flagged by QC" in "".join(server.lines)
        status, page = server.get("/")
        assert status == 200 and "sub-r001s002_ses-1" in page
        assert json.loads(server.get("/api/cases")[1])[0]["id"] == "sub-r001s002_ses-1"
        for path in ("/cases/../../../etc/passwd", "/static/../../../etc/passwd", "/static/../review/cases.py",
                     "/cases/..%2F..%2Fetc%2Fpasswd", "/static/%2e%2e/%2e%2e/review/cases.py"):
            assert " 404 " in server.raw(path) or " 400 " in server.raw(path), path
        assert server.get("/", headers={"Host": f"attacker.example:{server.port}"})[0] == 421
    finally:
        assert server.stop() in (0, 130)


def test_bound_elsewhere_every_request_needs_the_printed_token(tmp_path):
    folder = write_folder(tmp_path / "deriv")
    server = _Server(folder, "0.0.0.0")
    try:
        token = server.address.split("?token=")[1]
        assert len(token) >= 32 and "needs the token" in "".join(server.lines)
        for path in ("/", "/api/cases", "/static/niivue/niivue.js", "/cases/sub-r001s001_ses-1/background.nii.gz"):
            status, body = server.get(path)
            assert status == 401 and "access token" in body, path
        assert server.get("/?token=not-it")[0] == 401
        status, page = server.get(f"/?token={token}")  # urllib follows the redirect, but keeps no cookie
        assert status == 401
        assert server.get("/", headers={"Authorization": f"Bearer {token}"})[0] == 200
        assert server.get("/api/cases", headers={"Cookie": f"lk_review_token={token}"})[0] == 200
    finally:
        assert server.stop() in (0, 130)
