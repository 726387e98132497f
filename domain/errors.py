"""Errors that end a command with a one-line explanation instead of a traceback, and the domain's
refusals: what a request asked for that the domain will not or cannot do now.

Plain Python with no framework imports, so the API, approvals, the store and the workflows can
all raise or name them. The API maps each kind to one HTTP status in one place (api/errors.py).
"""

from __future__ import annotations


class ConfigError(Exception):
    """Bad or missing configuration; the message is meant for a person."""


class DomainError(Exception):
    """A refusal whose `message` is meant for the caller, as it is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """What the request names does not exist (for this caller)."""


class Conflict(DomainError):
    """The request does not fit the current state (a finished project, a decided gate, a reused key)."""


class Forbidden(DomainError):
    """The caller may not do this (or not in that name)."""


class Invalid(DomainError):
    """The request is well-formed but its content is refused."""


class Unavailable(DomainError):
    """Something the request needs is not reachable now; the same request may work later."""


# The `decide` update's rejections. The workflow raises them as ApplicationError with the class's
# name as the type; `rejection` turns one back into its domain error.


class UnknownGate(NotFound):
    """No such gate in the project."""


class AlreadyDecided(Conflict):
    """The gate is decided already."""


class AlreadyVoted(Conflict):
    """This approver has voted on the gate already."""


class ApproverNotAllowed(Forbidden):
    """The approver is not one of the gate's approvers."""


class InvalidDecision(Invalid):
    """The decision does not fit the gate (answers, edits, a missing comment)."""


REJECTIONS: dict[str, type[DomainError]] = {
    cls.__name__: cls for cls in (UnknownGate, AlreadyDecided, AlreadyVoted, ApproverNotAllowed, InvalidDecision)
}


def rejection(type_name: str | None, message: str) -> DomainError | None:
    """The domain error an ApplicationError of this type stands for, or None for another type."""
    cls = REJECTIONS.get(type_name or "")
    return cls(message) if cls is not None else None
