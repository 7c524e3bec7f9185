"""A self-hostable lesion-segmentation challenge: phases with hidden truth, streaming-validated submissions,
a durable scoring queue, leaderboards with rank intervals (extra ``lesionkit[server]``).

Library entry points (the CLI and the web routes call these): :func:`~lesionkit.challenge.phases.add_phase`,
:func:`~lesionkit.challenge.submissions.create_submission`, :func:`~lesionkit.challenge.worker.run_worker` (and
:func:`~lesionkit.challenge.worker.run_workers`, a pool of them on Dask),
:func:`~lesionkit.challenge.leaderboard.phase_leaderboard`, :func:`~lesionkit.challenge.server.serve`.
Modules, by domain: accounts and teams (``accounts``, ``teams``), phases and organisers (``phases``, ``truth``),
submissions (``submissions``, ``archive``, ``storage``, ``jobs``, ``scoring``, ``worker``), what participants
see (``disclosure``, ``leaderboard``, ``charts``); ``tables`` (SQLAlchemy models) and ``migrations/``;
``routes/`` (FastAPI, one module per domain, templates in ``templates/<domain>/``), ``server``, ``client``.
"""
