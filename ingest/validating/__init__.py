"""Validating: secure parsing, the XML schema and the plausibility rules."""
