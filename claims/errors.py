from core.errors import DomainError


class ClaimError(DomainError):
    """The one domain error of claim services. Its message is written for the person who acted.

    Codes: "invalid" (bad input or a rule refuses it), "state" (not possible in the claim's current
    state), "forbidden" (this person may not do it), "conflict" (someone else changed the claim first),
    "message_quota" (too many messages on the claim this hour: `retry_after` says in how many seconds one may be
    posted again) and "file_quota" (the files would take the uploader's side of the claim over what it may add), both
    claims.quotas.
    Being a ValidationError, forms and open_claim callers can show it as is.
    """

    retry_after: int | None = None
