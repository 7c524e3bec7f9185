"""``lesionkit review``: look at automatic lesion masks in the browser, most suspect first, and correct them.

The business logic lives here, the web app (:mod:`lesionkit.review.routes`) only calls it:
:class:`ReviewFolder` finds the cases of a derivatives folder (:mod:`~lesionkit.review.cases`: the one
discovery of :func:`lesionkit.io.collect_cases`, each mask paired with a T1w on its grid), orders them by
the QC flags of ``qc.tsv`` (:mod:`~lesionkit.review.qc_table`), writes corrections as
``desc-corrected`` derivatives with provenance and refuses stale saves (:mod:`~lesionkit.review.corrections`),
and records accept/reject decisions in ``review.tsv`` (:mod:`~lesionkit.review.status`). What the viewer
sends is decoded by :mod:`~lesionkit.review.payload` and put back on the mask's voxel order by
:mod:`~lesionkit.review.voxel_order`. The server (``lesionkit[server]``) is :func:`serve_review`.
"""

from lesionkit.review.cases import ReviewCase, discover_cases
from lesionkit.review.corrections import Correction, StaleVersionError, UnsafeWriteError
from lesionkit.review.folder import CaseNotFoundError, ReviewFolder
from lesionkit.review.payload import PayloadError, decode_drawing, encode_drawing
from lesionkit.review.voxel_order import NiivueOrder, from_niivue, niivue_order, to_niivue

__all__ = [
    "CaseNotFoundError",
    "Correction",
    "NiivueOrder",
    "PayloadError",
    "ReviewCase",
    "ReviewFolder",
    "StaleVersionError",
    "UnsafeWriteError",
    "decode_drawing",
    "discover_cases",
    "encode_drawing",
    "from_niivue",
    "niivue_order",
    "serve_review",
    "to_niivue",
]


def serve_review(*args, **kwargs):  # noqa: ANN002, ANN003, ANN201
    """Serve the review app (see :func:`lesionkit.review.server.serve_review`); needs ``lesionkit[server]``."""
    from lesionkit.review.server import serve_review as serve

    return serve(*args, **kwargs)
