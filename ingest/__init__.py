"""zvk-ingest: receives, checks, commits and answers the report files of a pension fund."""

__version__ = "0.1.0"
