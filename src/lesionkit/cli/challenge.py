"""``lesionkit challenge init|serve|worker|token|submit|rescore``: host a lesion-segmentation challenge."""

from __future__ import annotations

import argparse
import importlib.util

from lesionkit.cli._batch import add_batch_arguments

_SERVER_MODULES = ("fastapi", "uvicorn", "jinja2", "sqlalchemy", "alembic", "pwdlib", "multipart")


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "challenge",
        help="host a challenge (hidden truth, scoring workers, leaderboard) or submit to one",
        description="A self-hostable lesion-segmentation challenge server. DB is a SQLite file (default) or a "
        "postgresql:// URL. Needs the extra lesionkit[server].",
    )
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    init = sub.add_parser("init", help="create the challenge database, or add a phase to it",
                          description="Create DB (or upgrade it) and add phase NAME whose hidden truth (lesion masks "
                          "in any layout `lesionkit evaluate` reads, as a folder or a .zip/.tar.gz of one) is copied "
                          "from TRUTH into server storage.")
    init.add_argument("db", metavar="DB")
    init.add_argument("--name", help="challenge name (first init)")
    init.add_argument("--phase", required=True, metavar="NAME", help="phase name (lower case, e.g. test)")
    init.add_argument("--truth", required=True, metavar="DIR|ARCHIVE",
                      help="true lesion masks of the phase: a folder, or a .zip/.tar.gz of one")
    init.add_argument("--images", metavar="DIR", help="public T1w test images offered for download")
    init.add_argument("--storage", metavar="DIR", help="server storage (default: DB path + '.files')")
    init.add_argument("--title", default="", help="phase title shown on pages")
    init.add_argument("--hidden", action="store_true", help="hidden phase: leaderboard after close, per-case "
                      "results withheld, weight 4 in the combined ranking (unless set)")
    init.add_argument("--parent", metavar="PHASE", help="phase a team must have a scored submission in first")
    init.add_argument("--opens", metavar="ISO", help="opening date-time (UTC)")
    init.add_argument("--closes", metavar="ISO", help="closing date-time (UTC)")
    init.add_argument("--limit", type=int, default=5, help="submissions per window and team (default 5)")
    init.add_argument("--window-hours", type=float, default=24.0, help="rolling window of --limit (default 24)")
    init.add_argument("--weight", type=float, help="weight in the combined ranking")
    init.add_argument("--per-case", choices=("show", "withhold"), help="per-case results (default: withheld on "
                      "a hidden phase, shown otherwise)")
    init.add_argument("--entry", choices=("best", "latest"), default="best", help="leaderboard entry per team")
    init.add_argument("--admin", metavar="USER", help="create an organiser account USER (password printed once)")
    init.add_argument("--admin-email", metavar="EMAIL", help="the organiser's e-mail (with --admin)")

    serve = sub.add_parser("serve", help="serve the pages and the JSON API (/openapi.json)")
    serve.add_argument("db", metavar="DB")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--secure-cookies", action="store_true", help="mark cookies Secure (behind HTTPS)")

    worker = sub.add_parser("worker", help="score queued submissions (run one or more, or a pool on Dask)",
                            description="Claim queued submissions under a lease renewed by heartbeat and score "
                            "them. --jobs N, --scheduler ADDRESS or --cluster run one such loop per Dask worker "
                            "(each loop claims its own jobs; a killed worker's job is retried after its lease).")
    worker.add_argument("db", metavar="DB")
    worker.add_argument("--lease", type=float, default=60.0, help="lease seconds, renewed by heartbeat (default 60)")
    worker.add_argument("--poll", type=float, default=1.0, help="seconds between queue polls when idle")
    worker.add_argument("--once", action="store_true",
                        help="exit when the queue is drained (nothing queued, no job still running)")
    add_batch_arguments(worker, resumable=False, unit="scoring loop")

    token = sub.add_parser("token", help="print a new API token for a user")
    token.add_argument("db", metavar="DB")
    token.add_argument("--user", required=True, metavar="U", help="user name or e-mail")
    token.add_argument("--label", default="cli")

    rescore = sub.add_parser("rescore", help="rescore a phase's submissions (after a truth or scorer change)")
    rescore.add_argument("db", metavar="DB")
    rescore.add_argument("--phase", required=True)
    rescore.add_argument("--truth", metavar="DIR|ARCHIVE", help="replace the phase's hidden truth first (a folder "
                         "or a .zip/.tar.gz)")

    submit = sub.add_parser("submit", help="zip a folder of masks, upload it, wait and print the scores")
    submit.add_argument("url", metavar="URL", help="server address, e.g. http://127.0.0.1:8000")
    submit.add_argument("folder", metavar="DIR")
    submit.add_argument("--token", required=True)
    submit.add_argument("--phase", required=True)
    submit.add_argument("--method", required=True, help="method name")
    submit.add_argument("--description", required=True)
    submit.add_argument("--code-url", required=True, help="public code URL")
    submit.add_argument("--timeout", type=float, default=600.0)
    return parser


def _missing_extra() -> str | None:
    missing = [m for m in _SERVER_MODULES if importlib.util.find_spec(m) is None]
    return ", ".join(missing) or None


def run(args: argparse.Namespace) -> int:
    missing = _missing_extra()
    if missing:
        print(f"lesionkit challenge: needs the server extra: pip install 'lesionkit[server]' (missing: {missing})")
        return 2
    return globals()[f"_{args.action}"](args)


def _date(text: str | None):  # noqa: ANN202
    import datetime as dt

    if text is None:
        return None
    value = dt.datetime.fromisoformat(text)
    return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value


def _init(args: argparse.Namespace) -> int:
    import secrets
    from pathlib import Path

    from lesionkit.challenge.phases import PhaseSettings, add_phase
    from lesionkit.challenge.schema import upgrade_database
    from lesionkit.web import auth
    from lesionkit.web.database import Database

    try:
        settings = PhaseSettings(
            title=args.title, opens_at=_date(args.opens), closes_at=_date(args.closes), parent=args.parent,
            hidden=args.hidden, max_submissions=args.limit, window_hours=args.window_hours, weight=args.weight,
            show_per_case=None if args.per_case is None else args.per_case == "show", entry_policy=args.entry,
        )
        settings.check()
    except ValueError as error:
        print(f"lesionkit challenge init: {error}")
        return 2
    if args.admin and not args.admin_email:
        print("lesionkit challenge init: --admin needs --admin-email")
        return 2
    db = Database(args.db)
    upgrade_database(db)
    storage = args.storage or (str(Path(args.db).resolve()) + ".files" if db.is_sqlite else None)
    try:
        add_phase(db, args.phase, args.truth, settings, challenge_name=args.name, storage=storage, images=args.images)
    except ValueError as error:  # InvalidInputError (exit 3) is raised through
        if type(error) is not ValueError:
            raise
        print(f"lesionkit challenge init: {error}")
        return 2
    print(f"phase {args.phase} added")
    if args.admin:
        password = secrets.token_urlsafe(12)
        with db.write() as session:
            auth.create_user(session, args.admin, args.admin_email, password, is_admin=True)
        print(f"organiser {args.admin} created; password (shown once): {password}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from lesionkit.challenge.server import serve
    from lesionkit.web.database import Database

    try:
        serve(Database(args.db), args.host, args.port, args.secure_cookies)
    except LookupError as error:  # no challenge in this database yet
        print(f"lesionkit challenge serve: {error}")
        return 2
    return 0


def _worker(args: argparse.Namespace) -> int:
    import logging

    from lesionkit.challenge.worker import run_workers
    from lesionkit.cli._batch import cluster_spec

    spec = cluster_spec(args, "challenge worker")
    if spec is None:
        return 2
    if args.lease <= 0 or args.poll <= 0:
        print("lesionkit challenge worker: --lease and --poll must be positive")
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        done = run_workers(args.db, spec, lease_seconds=args.lease, poll_seconds=args.poll, once=args.once)
    except TimeoutError:
        print(f"lesionkit challenge worker: no Dask worker joined {args.scheduler} in time")
        return 1
    print(f"worker: {done} job(s) processed")
    return 0


def _token(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from lesionkit.web import auth
    from lesionkit.web.database import Database
    from lesionkit.web.tables import User

    with Database(args.db).write() as session:
        user = session.scalar(select(User).where((User.name == args.user) | (User.email == args.user.lower())))
        if user is None:
            print(f"lesionkit challenge token: no user {args.user!r}")
            return 2
        print(auth.create_api_token(session, user, args.label))
    return 0


def _rescore(args: argparse.Namespace) -> int:
    from lesionkit.challenge.jobs import rescore_phase
    from lesionkit.challenge.phases import replace_truth
    from lesionkit.web.database import Database

    db = Database(args.db)
    try:
        if args.truth:
            replace_truth(db, args.phase, args.truth)
        count = rescore_phase(db, args.phase)
    except ValueError as error:
        if type(error) is not ValueError:
            raise
        print(f"lesionkit challenge rescore: {error}")
        return 2
    print(f"{count} submission(s) queued for rescoring")
    return 0


def _submit(args: argparse.Namespace) -> int:
    from lesionkit.challenge.client import SubmitError, submit_folder

    try:
        result = submit_folder(args.url, args.token, args.phase, args.folder, args.method, args.description,
                               args.code_url, timeout=args.timeout)
    except SubmitError as error:
        print(f"lesionkit challenge submit: {error}")
        return 1
    print(f"submission {result['id']}: {result['status']}")
    if result.get("error"):
        print(f"  {result['error']}")
    for key, value in (result.get("summary") or {}).items():
        print(f"  {key}: {value:.4g}" if isinstance(value, float) else f"  {key}: {value}")
    if result.get("missing_cases"):
        print(f"  missing cases (scored as empty): {', '.join(result['missing_cases'])}")
    if result.get("extra_files"):
        print(f"  extra files (ignored): {', '.join(result['extra_files'])}")
    return 0 if result["status"] == "scored" else 3
