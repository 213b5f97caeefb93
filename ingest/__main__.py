from ingest.cli.main import run

run()
