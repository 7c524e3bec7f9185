"""``lesionkit challenge init|serve|worker|token|password|submit|rescore``: host a lesion-segmentation challenge.

Errors are one line on stderr; exit 2 for bad arguments, 3 for invalid input (DESIGN.md)."""

from __future__ import annotations

import argparse
import sys

from lesionkit.cli._batch import add_batch_arguments
from lesionkit.cli._extras import SERVER_MODULES, require_extra


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "challenge",
        help="host a challenge (hidden truth, scoring workers, leaderboard) or submit to one",
        description="A self-hostable lesion-segmentation challenge server. DB is a SQLite file (default) or a "
        "postgresql:// URL. Needs the extra lesionkit[server].",
    )
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    _add_init(sub)

    serve = sub.add_parser("serve", help="serve the pages and the JSON API (/openapi.json)")
    serve.add_argument("db", metavar="DB")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--secure-cookies", action="store_true", help="mark cookies Secure (behind HTTPS)")
    serve.add_argument("--trusted-proxy", action="append", default=[], metavar="ADDR",
                       help="a reverse proxy (address or network) whose X-Forwarded-For names the client; repeat "
                       "for several (default: none, the header is ignored)")

    worker = sub.add_parser("worker", help="score queued submissions (run one or more, or a pool on Dask)",
                            description="Claim queued submissions under a lease renewed by heartbeat and score "
                            "them. --jobs N, --scheduler ADDRESS or --cluster run one such loop per Dask worker "
                            "(each loop claims its own jobs; a killed worker's job is retried after its lease).")
    worker.add_argument("db", metavar="DB")
    worker.add_argument("--lease", type=float, default=60.0, help="lease seconds, renewed by heartbeat (default 60)")
    worker.add_argument("--poll", type=float, default=1.0, help="seconds between queue polls when idle")
    worker.add_argument("--time-limit", type=float, metavar="S",
                        help="scoring seconds per submission (default: the challenge's, set by init --job-seconds)")
    worker.add_argument("--once", action="store_true",
                        help="exit when the queue is drained (nothing queued, no job still running)")
    add_batch_arguments(worker, resumable=False, unit="scoring loop")

    token = sub.add_parser("token", help="print a new API token for a user")
    token.add_argument("db", metavar="DB")
    token.add_argument("--user", required=True, metavar="U", help="user name or e-mail")
    token.add_argument("--label", default="cli")

    password = sub.add_parser("password", help="reset a user's password (prints a new one, ends their sessions)")
    password.add_argument("db", metavar="DB")
    password.add_argument("--user", required=True, metavar="U", help="user name or e-mail")

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


def _add_init(sub: argparse._SubParsersAction) -> None:
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
    init.add_argument("--limit", type=int, default=5, help="submissions per window, per person and per team "
                      "(default 5)")
    init.add_argument("--window-hours", type=float, default=24.0, help="rolling window of --limit (default 24)")
    init.add_argument("--max-total", type=int, metavar="N", help="submissions in all, per person and per team "
                      "(default: none; 10 on a hidden phase; 0: none)")
    init.add_argument("--max-failed", type=int, default=10, metavar="N",
                      help="invalid or failed submissions allowed per person and per team (default 10)")
    init.add_argument("--show-metrics", metavar="M,M", help="metrics participants see (default: all; the ranking "
                      "metrics on a hidden phase)")
    init.add_argument("--digits", type=int, metavar="N", help="significant digits of shown scores (default: full; 3 "
                      "on a hidden phase; 0: full)")
    init.add_argument("--user-quota-gib", type=float, metavar="GIB", help="upload storage per person (default 5)")
    init.add_argument("--total-quota-gib", type=float, metavar="GIB", help="upload storage in all (default 200)")
    init.add_argument("--job-seconds", type=float, metavar="S", help="scoring time limit per submission "
                      "(default 600)")
    init.add_argument("--weight", type=float, help="weight in the combined ranking")
    init.add_argument("--per-case", choices=("show", "withhold"), help="per-case results (default: withheld on "
                      "a hidden phase, shown otherwise)")
    init.add_argument("--entry", choices=("best", "latest"), default="best", help="leaderboard entry per team")
    init.add_argument("--admin", metavar="USER", help="create an organiser account USER (password printed once)")
    init.add_argument("--admin-email", metavar="EMAIL", help="the organiser's e-mail (with --admin)")


def _error(action: str, message: object) -> None:
    print(f"lesionkit challenge {action}: {message}", file=sys.stderr)


def _database(args: argparse.Namespace):  # noqa: ANN202
    """The existing challenge database ``args.db``; prints the one-line error and returns None when there is none
    (a SQLite path that does not exist, or a database without a challenge)."""
    from pathlib import Path

    from lesionkit.challenge.phases import get_challenge
    from lesionkit.web.database import Database

    if "://" not in args.db and not Path(args.db).is_file():
        _error(args.action, f"{args.db}: no such challenge database (create it with `lesionkit challenge init`)")
        return None
    db = Database(args.db)
    try:
        with db.read() as session:
            get_challenge(session)
    except LookupError:
        _error(args.action, f"{args.db}: holds no challenge (create it with `lesionkit challenge init`)")
        return None
    except Exception as error:  # unreachable server, not a database file
        _error(args.action, f"{args.db}: cannot be opened ({type(error).__name__})")
        return None
    return db


def run(args: argparse.Namespace) -> int:
    # `submit` is a client: it needs httpx only (declared in the [server] extra), not the server's libraries
    require_extra("server", ("httpx",) if args.action == "submit" else SERVER_MODULES)
    return globals()[f"_{args.action}"](args)


def _date(text: str | None):  # noqa: ANN202
    import datetime as dt

    if text is None:
        return None
    value = dt.datetime.fromisoformat(text)
    return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value


def _settings(args: argparse.Namespace):  # noqa: ANN202
    from lesionkit.challenge.phases import PhaseSettings

    shown = [m.strip() for m in args.show_metrics.split(",") if m.strip()] if args.show_metrics else None
    return PhaseSettings(
        title=args.title, opens_at=_date(args.opens), closes_at=_date(args.closes), parent=args.parent,
        hidden=args.hidden, max_submissions=args.limit, window_hours=args.window_hours, weight=args.weight,
        show_per_case=None if args.per_case is None else args.per_case == "show", entry_policy=args.entry,
        max_total=args.max_total, max_failed=args.max_failed, shown_metrics=shown, significant_digits=args.digits,
    )


def _init(args: argparse.Namespace) -> int:
    from pathlib import Path

    from lesionkit.challenge.accounts import create_organiser
    from lesionkit.challenge.phases import add_phase, configure_challenge
    from lesionkit.challenge.schema import upgrade_database
    from lesionkit.web.database import Database

    try:
        settings = _settings(args)
        settings.check(new=True)
    except ValueError as error:
        _error("init", error)
        return 2
    if args.admin and not args.admin_email:
        _error("init", "--admin needs --admin-email")
        return 2
    db = Database(args.db)
    upgrade_database(db)
    storage = args.storage or (str(Path(args.db).resolve()) + ".files" if db.is_sqlite else None)
    gib = lambda v: None if v is None else int(v * 2**30)  # noqa: E731
    try:
        add_phase(db, args.phase, args.truth, settings, challenge_name=args.name, storage=storage, images=args.images)
        configure_challenge(db, gib(args.user_quota_gib), gib(args.total_quota_gib), args.job_seconds)
    except ValueError as error:  # InvalidInputError (exit 3) is raised through
        if type(error) is not ValueError:
            raise
        _error("init", error)
        return 2
    print(f"phase {args.phase} added")
    if args.admin:
        password = create_organiser(db, args.admin, args.admin_email)
        print(f"organiser {args.admin} created; password (shown once): {password}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from lesionkit.challenge.server import serve

    db = _database(args)
    if db is None:
        return 2
    try:
        serve(db, args.host, args.port, args.secure_cookies, trusted_proxies=args.trusted_proxy)
    except ValueError as error:  # a --trusted-proxy that is no address or network
        _error("serve", f"--trusted-proxy: {error}")
        return 2
    return 0


def _worker(args: argparse.Namespace) -> int:
    import logging

    from lesionkit.challenge.worker import run_workers
    from lesionkit.cli._batch import cluster_spec

    spec = cluster_spec(args, "challenge worker")
    if spec is None:
        return 2
    if args.lease <= 0 or args.poll <= 0 or (args.time_limit is not None and args.time_limit <= 0):
        _error("worker", "--lease, --poll and --time-limit must be positive")
        return 2
    if _database(args) is None:
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        done = run_workers(args.db, spec, lease_seconds=args.lease, poll_seconds=args.poll, once=args.once,
                           time_limit=args.time_limit)
    except TimeoutError:
        _error("worker", f"no Dask worker joined {args.scheduler} in time")
        return 1
    print(f"worker: {done} job(s) processed")
    return 0


def _token(args: argparse.Namespace) -> int:
    from lesionkit.challenge.accounts import issue_token

    db = _database(args)
    if db is None:
        return 2
    try:
        print(issue_token(db, args.user, args.label))
    except LookupError as error:
        _error("token", error)
        return 2
    return 0


def _password(args: argparse.Namespace) -> int:
    from lesionkit.challenge.accounts import reset_password

    db = _database(args)
    if db is None:
        return 2
    try:
        password = reset_password(db, args.user)
    except LookupError as error:
        _error("password", error)
        return 2
    print(f"new password for {args.user} (shown once): {password}")
    return 0


def _rescore(args: argparse.Namespace) -> int:
    from lesionkit.challenge.jobs import rescore_phase
    from lesionkit.challenge.phases import replace_truth_and_rescore

    db = _database(args)
    if db is None:
        return 2
    try:
        count = replace_truth_and_rescore(db, args.phase, args.truth) if args.truth else rescore_phase(db, args.phase)
    except ValueError as error:
        if type(error) is not ValueError:
            raise
        _error("rescore", error)
        return 2
    print(f"{count} submission(s) queued for rescoring")
    return 0


def _submit(args: argparse.Namespace) -> int:
    from lesionkit.challenge.client import SubmitError, submit_folder

    try:
        result = submit_folder(args.url, args.token, args.phase, args.folder, args.method, args.description,
                               args.code_url, timeout=args.timeout)
    except SubmitError as error:
        _error("submit", error)
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
