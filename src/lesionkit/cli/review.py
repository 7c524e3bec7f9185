"""``lesionkit review DERIVATIVES``: review and correct automatic lesion masks in the browser."""

from __future__ import annotations

import argparse

#: What the review app imports of the server extra (no database: SQLAlchemy, Alembic are the challenge's).
_REVIEW_MODULES = ("fastapi", "uvicorn", "jinja2")


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "review",
        help="local browser app: cases sorted by QC flag, mask over the T1w, correct masks, save as derivatives",
        description="Serve a browser app over a folder of automatic lesion masks (e.g. the output of `lesionkit "
        "segment` or `lesionkit run`): the cases sorted by the QC flags of DERIVATIVES/qc.tsv (when present), "
        "each mask over its T1w in niivue (axial, coronal, sagittal, multiplanar; opacity, contrast, jump to each "
        "lesion), pen, eraser, fill and undo to correct it, accept/reject per case. A correction is written "
        "beside the automatic mask as …_desc-corrected_mask.nii.gz (same grid and affine) with a JSON sidecar "
        "(source mask and SHA-256, reviewer, UTC time, voxels added and removed); decisions go to "
        "DERIVATIVES/review.tsv. Listens on 127.0.0.1 by default; on any other address every request needs the "
        "token printed at start. Needs the extra lesionkit[server].",
    )
    parser.add_argument("derivatives", metavar="DERIVATIVES", help="folder of lesion masks (BIDS derivatives)")
    parser.add_argument("--t1", nargs="+", metavar="DATA",
                        help="raw datasets or files holding the T1w images (matched by subject, session and space; "
                        "default: the T1w in DERIVATIVES or the one each mask's sidecar names)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1; any other needs the printed token)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    parser.add_argument("--reviewer", metavar="NAME", help="reviewer name recorded with each correction and decision "
                        "(default: your login name; the page can change it)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")
    return parser


def run(args: argparse.Namespace) -> int:
    from lesionkit.cli._checks import UsageError, require
    from lesionkit.cli._extras import require_extra

    require_extra("server", _REVIEW_MODULES)
    require(1 <= args.port <= 65535, "--port must be in 1-65535")
    from lesionkit.review.folder import check_reviewer
    from lesionkit.review.server import ServerAddressError, serve_review

    if args.reviewer is not None:
        try:
            check_reviewer(args.reviewer)
        except ValueError as error:
            raise UsageError(f"--reviewer: {error}") from None
    try:
        serve_review(args.derivatives, t1=args.t1, host=args.host, port=args.port, reviewer=args.reviewer,
                     open_browser=not args.no_browser)
    except ServerAddressError as error:
        raise UsageError(str(error)) from None
    return 0
