from django.core.exceptions import ValidationError


class DomainError(ValidationError):
    """A refusal written for the person who acted (a buyer, a seller's staff, an agent, finance). Being a
    ValidationError, forms and callers can show it as is. Each app has its own subclass (claims.errors.ClaimError,
    orders.services.TrackingError); `code` says what kind of refusal it is."""

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message, code=code)

    def __str__(self) -> str:
        return " ".join(self.messages)
