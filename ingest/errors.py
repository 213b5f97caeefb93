"""The service's own exceptions.

Findings about a sender's file are data (see ``ingest.validating.findings``) and are never raised.
Exceptions mean that the service itself cannot go on; each says whether a retry may help.
"""


class ZvkError(Exception):
    """Root of every exception the service raises on purpose."""

    retryable: bool = False


class ConfigurationError(ZvkError):
    """The settings, the home or the catalogue are wrong: an operator has to fix something."""


class UsageError(ZvkError):
    """An operator asked for something that cannot be done (unknown sender, missing file, ...)."""


class TransientError(ZvkError):
    """A resource was briefly unavailable (database locked, disk busy); trying again may help."""

    retryable = True


class Refused(Exception):
    """A file cannot be taken as it is; its sender is answered with ``code`` and ``detail``."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
