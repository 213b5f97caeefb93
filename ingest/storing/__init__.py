"""Storing: the database models, sessions, migrations and the commit of one delivery."""
