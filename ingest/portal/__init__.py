"""The online portal: a FastAPI application over the accounts domain (``ingest.accounts``)."""
