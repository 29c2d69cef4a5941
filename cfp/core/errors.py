"""Errors that operations raise and views turn into a clear message."""


class DomainError(Exception):
    """A rule of the domain refused the action; the message is shown to the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class IllegalTransition(DomainError):
    """A state change the workflow's transition table does not allow."""


class NotAllowed(DomainError):
    """The acting user may not do this."""
