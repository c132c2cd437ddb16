"""Domain errors: each carries its HTTP status and OpenAI error type, so no door keeps a table."""


class DomainError(Exception):
    """A request the domain refuses; every door answers it with `status_code` and `code`."""

    status_code = 400
    error_type = "invalid_request_error"
    code = "invalid_request"

    def __init__(self, message: str, *, param: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param


def error_text(exc: Exception) -> str:
    """Return the message a person should read for a domain or validation error."""
    messages = getattr(exc, "messages", None)
    if messages is not None and not isinstance(exc, DomainError):
        return " ".join(messages)
    return getattr(exc, "message", str(exc))
