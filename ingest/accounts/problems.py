"""What is wrong with a request about an account, in German, each problem at its form field."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ingest.errors import UsageError


class AccountError(UsageError):
    """A request about an account that cannot be done; the message is German, for people.

    ``field`` names the form field the problem belongs to (empty: the form as a whole).
    """

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field

    @property
    def problems(self) -> list[tuple[str, str]]:
        """Every problem as (field, German message)."""
        return [(self.field, str(self))]


class FormErrors(AccountError):
    """Several problems of one form, all found in one pass."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__(" ".join(message for _, message in problems))
        self._problems = problems

    @property
    def problems(self) -> list[tuple[str, str]]:
        return list(self._problems)


class Problems:
    """Collects the problems of a form's fields, so that all are reported at once."""

    def __init__(self) -> None:
        self.found: list[tuple[str, str]] = []

    def add(self, field: str, message: str) -> None:
        self.found.append((field, message))

    @contextmanager
    def at(self, field: str) -> Iterator[None]:
        """Record an :class:`AccountError` raised inside as a problem of ``field``."""
        try:
            yield
        except AccountError as exc:
            self.found.extend((name or field, message) for name, message in exc.problems)

    def raise_any(self) -> None:
        if self.found:
            raise FormErrors(self.found)
