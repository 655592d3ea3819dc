"""Answer every new claim of a seller, once: a small client of the marketplace support API (README, "The API").

    MARKETPLACE_API_URL=https://support.example.com MARKETPLACE_API_KEY=mk_… python answer_new_claims.py

Every minute it asks for the seller's claims that need its action and changed since the last look (cursor pages),
and writes a first reply to each claim still awaiting the seller. The reply's Idempotency-Key is made from the
claim's number, so a crash or a restart between sending the reply and hearing the answer never answers twice: the
API gives the same key the stored answer (for API_IDEMPOTENCY_HOURS, 24 h), and by then the claim is in progress
and no longer selected. Needs httpx (`pip install httpx`) and a key with the write scope."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator
from typing import Any

import httpx

REPLY = ("Thank you for telling us, and sorry for the trouble. We are looking into it and will come back to you "
         "within one business day.")
RETRYABLE = {429, 500, 502, 503, 504}
OVERLAP = dt.timedelta(minutes=5)  # look a little further back than the last poll: clocks differ


def client(base_url: str, key: str, **options: Any) -> httpx.Client:
    return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30, **options)


def send(api: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One request, sent again after Retry-After while the API says "later" (rate limit, a request with the same
    Idempotency-Key still running, a failure on its side); the same Idempotency-Key each time."""
    for _attempt in range(5):
        response = api.request(method, path, **kwargs)
        later = response.status_code in RETRYABLE or (
            response.status_code == 409 and response.json().get("code") == "idempotency-key-in-progress")
        if not later:
            return response
        time.sleep(min(int(response.headers.get("Retry-After", "1")), 60))
    return response


def claims_needing_action(api: httpx.Client, since: dt.datetime | None) -> Iterator[dict[str, Any]]:
    """The seller's claims that need its action (and changed since `since`), page by page."""
    params: dict[str, str] = {"needs_action": "true"}
    if since is not None:
        params["updated_since"] = since.isoformat()
    cursor = None
    while True:
        response = send(api, "GET", "/api/v1/claims", params={**params, **({"cursor": cursor} if cursor else {})})
        response.raise_for_status()
        page = response.json()
        yield from page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return


def answer(api: httpx.Client, number: str, text: str = REPLY) -> httpx.Response:
    """The first reply to a claim: one Idempotency-Key per claim, so sending it again is harmless."""
    return send(api, "POST", f"/api/v1/claims/{number}/messages", json={"body": text},
                headers={"Idempotency-Key": f"first-reply-{number}"})


def answer_new_claims(api: httpx.Client, since: dt.datetime | None = None) -> list[str]:
    """Reply to each claim still awaiting the seller's first answer; returns their numbers."""
    answered = []
    for claim in claims_needing_action(api, since):
        if claim["state"] != "awaiting_seller" or "message" not in claim["allowed_actions"]:
            continue
        response = answer(api, claim["number"])
        if response.status_code == 409:  # answered meanwhile (on the dashboard, say): nothing to do
            continue
        response.raise_for_status()
        answered.append(claim["number"])
    return answered


def main() -> None:
    api = client(os.environ["MARKETPLACE_API_URL"], os.environ["MARKETPLACE_API_KEY"])
    since = None  # the first run looks at every open claim
    while True:
        started = dt.datetime.now(dt.UTC)
        for number in answer_new_claims(api, since):
            print(f"answered {number}")
        since = started - OVERLAP
        time.sleep(60)


if __name__ == "__main__":
    main()
