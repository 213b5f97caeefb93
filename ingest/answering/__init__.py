"""Answering: the protocol (XML and German text) and the outbox writer."""
