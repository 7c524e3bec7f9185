"""Fixtures for the challenge server: a tiny synthetic phase (20³ grid), predictions, archives, databases."""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")

SHAPE = (20, 20, 20)
AFFINE = np.diag([1.0, 1.0, 1.0, 1.0])
AFFINE[:3, 3] = (-10.0, -12.0, -8.0)
#: Lesion sizes chosen so their voxel counts are distinctive numbers for the leak test.
TRUTH_BLOBS = {"r001s001": (3, 11, 4, 13, 5, 14), "r001s002": (2, 9, 6, 17, 3, 12), "r001s003": (5, 16, 1, 12, 2, 15)}


def wait_for_running_job(db, seconds: float):  # noqa: ANN001, ANN201
    """The first job (by id) a worker has claimed, polled every 50 ms for up to ``seconds``; None if none did."""
    from sqlalchemy import select

    from lesionkit.challenge.tables import Job

    deadline = time.monotonic() + seconds
    while True:
        with db.read() as session:
            job = session.scalar(select(Job).where(Job.status == "running").order_by(Job.id))
        if job is not None or time.monotonic() >= deadline:
            return job
        time.sleep(0.05)


def truth_array(subject: str) -> np.ndarray:
    x0, x1, y0, y1, z0, z1 = TRUTH_BLOBS[subject]
    data = np.zeros(SHAPE, np.uint8)
    data[x0:x1, y0:y1, z0:z1] = 1
    data[x0, y0, z0] = 0  # odd counts, unlike any round number in a page
    return data


def write_truth(folder: Path) -> Path:
    """An ATLAS-layout truth folder: R001/sub-X/ses-1/anat/sub-X_ses-1_space-…_label-L_desc-T1lesion_mask.nii.gz."""
    for subject in TRUTH_BLOBS:
        anat = folder / "R001" / f"sub-{subject}" / "ses-1" / "anat"
        anat.mkdir(parents=True, exist_ok=True)
        name = f"sub-{subject}_ses-1_space-MNI152NLin2009aSym_label-L_desc-T1lesion_mask.nii.gz"
        nib.save(nib.Nifti1Image(truth_array(subject), AFFINE), anat / name)
    return folder


def prediction(subject: str, shift: int = 1) -> np.ndarray:
    return np.roll(truth_array(subject), shift, axis=0)


def write_predictions(folder: Path, subjects=None, shift: int = 1, affine=None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for subject in subjects or TRUTH_BLOBS:
        img = nib.Nifti1Image(prediction(subject, shift), AFFINE if affine is None else affine)
        nib.save(img, folder / f"sub-{subject}_ses-1_space-MNI152NLin2009aSym_label-L_desc-pred_mask.nii.gz")
    return folder


def zip_folder(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())
    return target


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def tar_bytes(members: list[tarfile.TarInfo], payloads: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
        for info in members:
            data = (payloads or {}).get(info.name)
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


@pytest.fixture
def truth_dir(tmp_path: Path) -> Path:
    return write_truth(tmp_path / "truth")


# --- databases: SQLite always, a real PostgreSQL server when Debian's binaries are installed ---------------

def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory):
    """A throw-away PostgreSQL server (initdb + pg_ctl in a temp dir, as an unprivileged user when root)."""
    bin_dir = _pg_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries not installed (apt-get install postgresql)")
    # Not under pytest's tmp folder: that is private to root (0700) and the server runs as another user.
    base = Path(tempfile.mkdtemp(prefix="lesionkit-pg-"))
    data, port = base / "data", _free_port()
    prefix: list[str] = []
    if os.geteuid() == 0:
        user = "postgres" if shutil.which("runuser") and _user_exists("postgres") else "nobody"
        prefix = ["runuser", "-u", user, "--"]
        shutil.chown(base, user)
        os.chmod(base, 0o777)
    run = lambda *cmd: subprocess.run([*prefix, *cmd], check=True, capture_output=True, text=True)  # noqa: E731
    run(str(bin_dir / "initdb"), "-D", str(data), "-U", "lesionkit", "--auth=trust", "-E", "UTF8")
    run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w", "-o",
        f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
    try:
        yield {"port": port, "bin": bin_dir, "run": run, "base": base}
    finally:
        subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


_PG_COUNTER = iter(range(10**6))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path: Path) -> str:
    """A fresh database URL on each real engine."""
    if request.param == "sqlite":
        return str(tmp_path / "challenge.db")
    server = request.getfixturevalue("postgres_server")
    name = f"lk{os.getpid()}_{next(_PG_COUNTER)}_{int(time.time() * 1000) % 10**6}"
    server["run"](str(server["bin"] / "createdb"), "-h", "127.0.0.1", "-p", str(server["port"]), "-U", "lesionkit",
                  name)
    return f"postgresql://lesionkit@127.0.0.1:{server['port']}/{name}"


# --- a running app (in-process) -----------------------------------------------------------------------------

PASSWORD = "correct horse battery"


def make_challenge(tmp_path: Path, db_url: str | None = None, **settings):
    """A challenge database with phase ``test`` (the synthetic truth) and an organiser ``admin``."""
    from lesionkit.challenge.phases import PhaseSettings, add_phase
    from lesionkit.challenge.schema import upgrade_database
    from lesionkit.web import auth
    from lesionkit.web.database import Database

    db = Database(db_url or str(tmp_path / "challenge.db"))
    upgrade_database(db)
    truth = write_truth(tmp_path / "truth")
    add_phase(db, "test", truth, PhaseSettings(**settings), challenge_name="Tiny challenge", storage=tmp_path / "store")
    with db.write() as session:
        auth.create_user(session, "admin", "admin@example.org", PASSWORD, is_admin=True)
    return db


def csrf(client) -> str:  # noqa: ANN001
    if "lk_csrf" not in client.cookies:
        client.get("/login")
    return client.cookies["lk_csrf"]


def sign_up(client, name: str, team: str = "") -> None:  # noqa: ANN001
    response = client.post("/signup", data={"name": name, "email": f"{name}@example.org", "password": PASSWORD,
                                            "team": team, "csrf_token": csrf(client)}, follow_redirects=False)
    assert response.status_code == 303, response.text


def log_in(client, name: str) -> None:  # noqa: ANN001
    response = client.post("/login", data={"login": name, "password": PASSWORD, "csrf_token": csrf(client)},
                           follow_redirects=False)
    assert response.status_code == 303, response.text


def upload(client, archive: bytes, phase: str = "test", method: str = "nnunet-ish", filename: str = "masks.zip"):  # noqa: ANN001, ANN201
    return client.post(f"/phases/{phase}/submit",
                       data={"method": method, "description": "a test method", "code_url": "https://example.org/code",
                             "csrf_token": csrf(client)},
                       files={"archive": (filename, archive, "application/zip")}, follow_redirects=False)


def predictions_zip(tmp_path: Path, shift: int = 1, subjects=None) -> bytes:
    folder = write_predictions(tmp_path / f"pred-{shift}-{len(subjects or TRUTH_BLOBS)}", subjects, shift)
    return zip_folder(folder, tmp_path / f"pred-{shift}.zip").read_bytes()


@pytest.fixture
def challenge_db(tmp_path: Path):
    db = make_challenge(tmp_path)
    yield db
    db.dispose()


@pytest.fixture
def client(challenge_db):
    from fastapi.testclient import TestClient

    from lesionkit.challenge.server import create_challenge_app

    with TestClient(create_challenge_app(challenge_db)) as test_client:
        yield test_client


class ChunkedMultipart:
    """A multipart body sent chunked (no Content-Length): ``fields``, then a file part of ``file_bytes`` zeros in
    64 KiB chunks. ``sent`` counts the file bytes the client has produced, i.e. at most what the server read."""

    boundary = "lesionkit-test-boundary"

    def __init__(self, fields: dict[str, str], file_field: str, file_bytes: int) -> None:
        self.fields, self.file_field, self.file_bytes, self.sent = fields, file_field, file_bytes, 0

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __iter__(self):
        for key, value in self.fields.items():
            yield f'--{self.boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        yield (f'--{self.boundary}\r\nContent-Disposition: form-data; name="{self.file_field}"; filename="a.zip"\r\n'
               "Content-Type: application/zip\r\n\r\n").encode()
        chunk = bytes(1 << 16)
        while self.sent < self.file_bytes:
            self.sent += len(chunk)
            yield chunk
        yield f"\r\n--{self.boundary}--\r\n".encode()


def open_files_under(folder: Path) -> list[str]:
    """This process's open file descriptors that point into ``folder`` (unnamed temporary files included)."""
    found = []
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith(str(folder)):
            found.append(target)
    return found


class LiveServer:
    """Uvicorn serving ``app`` on a free loopback port, in a thread (for the browser and HTTP clients)."""

    def __init__(self, app, log_level: str = "info") -> None:  # noqa: ANN001
        import threading

        import uvicorn

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level=log_level, log_config=None)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self.server.should_exit = True
        self.thread.join(10)
