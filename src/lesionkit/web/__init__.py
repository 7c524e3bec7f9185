"""What the challenge server and the review app share: database engine, accounts and sessions, the app factory,
base templates and static assets (extra ``lesionkit[server]``)."""

from lesionkit.web.database import Base, Database, open_database

__all__ = ["Base", "Database", "open_database"]
