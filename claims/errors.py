from django.core.exceptions import ValidationError


class ClaimError(ValidationError):
    """The one domain error of claim services. Its message is written for the person who acted.

    Codes: "invalid" (bad input or a rule refuses it), "state" (not possible in the claim's current
    state), "forbidden" (this person may not do it), "conflict" (someone else changed the claim first).
    Being a ValidationError, forms and open_claim callers can show it as is.
    """

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message, code=code)

    def __str__(self) -> str:
        return " ".join(self.messages)
