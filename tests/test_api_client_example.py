"""The README's API client (docs/examples/answer_new_claims.py) works: run against the site served by the test, it
answers each new claim of its seller once, walks every page of the list, leaves other claims and other sellers alone,
and a crash between sending a reply and hearing the answer does not answer twice."""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path

import pytest
from django.conf import settings

from api.tests.helpers import seller_key
from claims.models import Claim
from claims.tests.factories import claim_world, delivered_order, open_defective_claim

EXAMPLE = Path(settings.BASE_DIR) / "docs" / "examples" / "answer_new_claims.py"
spec = importlib.util.spec_from_file_location("answer_new_claims", EXAMPLE)
assert spec is not None and spec.loader is not None
example = importlib.util.module_from_spec(spec)
spec.loader.exec_module(example)

pytestmark = pytest.mark.django_db(transaction=True)


def messages_from_the_seller(claim: Claim) -> list[str]:
    return list(claim.messages.filter(party="seller").values_list("body", flat=True))


def test_the_readme_client_answers_each_new_claim_once(live_server, settings):
    settings.API_PAGE_SIZE = 2  # three new claims and one in progress: two pages
    world = claim_world("in_progress")
    seller = world.claim.seller
    new = [open_defective_claim(order=delivered_order(seller=seller)) for _ in range(3)]
    elsewhere = claim_world("awaiting_seller").claim  # another seller's new claim
    _api_key, key = seller_key(seller, scope="write")

    with example.client(live_server.url, key) as api:
        pages = list(example.claims_needing_action(api, since=None))
        assert sorted(claim["number"] for claim in pages) == sorted([world.claim.number, *(c.number for c in new)])

        answered = example.answer_new_claims(api)
        assert sorted(answered) == sorted(claim.number for claim in new)
        for claim in new:
            claim.refresh_from_db()
            assert claim.state == "in_progress"
            assert messages_from_the_seller(claim) == [example.REPLY]
        assert example.answer_new_claims(api) == []  # nothing new: nothing sent
        assert example.answer_new_claims(api, since=dt.datetime.now(dt.UTC)) == []

        # The client died after its reply reached the API but before it heard the answer: sent again on restart
        # (same claim, same Idempotency-Key), the API answers as the first time and posts nothing more.
        again = example.answer(api, new[0].number)
        assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
        assert messages_from_the_seller(new[0]) == [example.REPLY]

    assert messages_from_the_seller(world.claim) == ["Sorry about that, let us sort it out."]  # in progress already
    assert messages_from_the_seller(elsewhere) == []
    elsewhere.refresh_from_db()
    assert elsewhere.state == "awaiting_seller"


def test_the_readme_shows_the_example_as_it_is():
    """The client in the README is the file's own code, not a copy that could drift from what this test runs."""
    readme = (Path(settings.BASE_DIR) / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The API", 1)[1].split("\n## ", 1)[0]
    blocks = [block.split("```", 1)[0] for block in section.split("```python\n")[1:]]
    client_blocks = [block for block in blocks if "def answer_new_claims" in block]
    assert len(client_blocks) == 1
    assert client_blocks[0].strip() in EXAMPLE.read_text(encoding="utf-8")
