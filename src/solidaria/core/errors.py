"""Domain errors raised by actions; the API and pages map each to one HTTP status."""


class DomainError(Exception):
    """Base class; `message` is safe to show to the person who acted."""

    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Invalid(DomainError):
    """The input breaks a rule of the domain (422 in the API, a form error on pages).

    `errors` maps each field to its messages, so a form or API client can show them all.
    """

    status = 422

    def __init__(
        self, message: str, *, field: str | None = None, errors: dict[str, list[str]] | None = None
    ) -> None:
        super().__init__(message, field=field)
        self.errors = errors or ({field: [message]} if field else {})


class NotFound(DomainError):
    """No such row in the acting organization (also used for another organization's rows)."""

    status = 404


class Forbidden(DomainError):
    """The actor's role does not allow this."""

    status = 403


class Conflict(DomainError):
    """The request clashes with the current state (a duplicate, too little money, …)."""

    status = 409
