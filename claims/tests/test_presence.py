"""Who else has a claim open in the console, and the collision warning (claims/admin/presence.py): the page records its
viewer, the heartbeat lists the others within the presence window and says when the claim changed since the page
loaded, and the version it compares moves on every write that matters."""

import datetime as dt

import pytest
import time_machine
from django.db import OperationalError
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from claims import services, tasks
from claims.admin.presence import Version, claim_version, forget_old_presence, loaded_version, record_presence
from claims.models import ClaimPresence
from claims.selectors import console_claim
from claims.tests.admin_factories import make_console_agent, make_finance, make_plain_staff
from claims.tests.factories import OPENED_AT, claim_world

pytestmark = pytest.mark.django_db

NOW = OPENED_AT + dt.timedelta(days=1)
S = dt.timedelta(seconds=1)


def at(moment):
    return time_machine.travel(moment, tick=False)


def page_url(claim):
    return reverse("admin:claims_claim_change", args=[claim.pk])


def beat_url(claim):
    return reverse("admin:claims_claim_presence", args=[claim.pk])


def agent_client(agent):
    client = Client()
    client.force_login(agent)
    return client


@pytest.fixture
def world():
    return claim_world("escalated")


@pytest.fixture
def julia():
    return make_console_agent(first_name="Julia", last_name="Neumann")


@pytest.fixture
def tom():
    return make_console_agent(first_name="Tom", last_name="Berg")


def opened(client, claim) -> str:
    """The claim page as loaded: its version."""
    response = client.get(page_url(claim))
    assert response.status_code == 200
    return response.context["presence"]["version"]


# --- presence ---------------------------------------------------------------------------------------------------


def test_the_page_records_its_viewer_and_says_nobody_else_is_here(world, julia):
    with at(NOW):
        client = agent_client(julia)
        response = client.get(page_url(world.claim))
    assert response.status_code == 200
    row = ClaimPresence.objects.get()
    assert (row.claim_id, row.user_id, row.seen_at) == (world.claim.pk, julia.pk, NOW)
    html = response.content.decode()
    assert 'id="console-presence"' in html and f'data-url="{beat_url(world.claim)}"' in html
    assert f'data-version="{response.context["presence"]["version"]}"' in html
    assert "Nobody else has this claim open." in html
    with at(NOW + 10 * S):
        client.get(page_url(world.claim))
    assert ClaimPresence.objects.get().seen_at == NOW + 10 * S  # one row per person and claim, moved on


def test_another_agent_is_seen_within_the_window_and_not_after_it(world, julia, tom, settings):
    settings.CONSOLE_PRESENCE_SECONDS = 90
    with at(NOW):
        julias = agent_client(julia)
        opened(julias, world.claim)
    with at(NOW + 90 * S):
        toms = agent_client(tom)
        response = toms.get(page_url(world.claim))
        assert response.context["presence"]["others"] == ["Julia Neumann"]
        assert "Julia Neumann also has this claim open." in response.content.decode()
    with at(NOW + 91 * S):
        response = toms.get(page_url(world.claim))
        assert response.context["presence"]["others"] == []
        # Julia's heartbeat brings her back, and she sees Tom.
        answer = julias.post(beat_url(world.claim)).json()
        assert answer["others"] == ["Tom Berg"] and answer["others_text"] == "Tom Berg also has this claim open."
        assert toms.post(beat_url(world.claim)).json()["others"] == ["Julia Neumann"]
    third = make_console_agent(first_name="Ana", last_name="Silva")
    with at(NOW + 100 * S):
        answer = agent_client(third).post(beat_url(world.claim)).json()
    assert answer["others_text"] == "Julia Neumann and Tom Berg also have this claim open."


def test_a_heartbeat_the_database_cannot_take_still_answers_and_the_next_one_records(world, julia, tom,
                                                                                    monkeypatch, caplog):
    """SQLite locks the presence table while another request writes it (two agents' heartbeats at once): the
    heartbeat is skipped with a warning and the answer still says who is here and what changed; nothing else is
    written, and the next heartbeat records the viewer."""
    with at(NOW):
        version = opened(agent_client(julia), world.claim)
        toms = agent_client(tom)
        opened(toms, world.claim)
    with at(NOW + 5 * S):
        services.post_message(claim=world.claim, by=tom, body="Checked the tracking.", internal=True)

    def locked(*args, **kwargs):
        raise OperationalError("database table is locked: claims_claimpresence")

    julias = agent_client(julia)
    with at(NOW + 10 * S), monkeypatch.context() as patch:
        patch.setattr(ClaimPresence.objects, "bulk_create", locked)
        response = julias.post(beat_url(world.claim), {"version": version})
    assert response.status_code == 200
    answer = response.json()
    assert answer["others"] == ["Tom Berg"] and answer["changed"] is True
    assert "not recorded" in caplog.text
    assert ClaimPresence.objects.get(user=julia).seen_at == NOW  # untouched by the skipped heartbeat
    with at(NOW + 15 * S):
        assert julias.post(beat_url(world.claim), {"version": version}).status_code == 200
    assert ClaimPresence.objects.get(user=julia).seen_at == NOW + 15 * S


def test_rows_older_than_a_day_are_forgotten_by_beat(world, julia, tom, settings):
    with at(NOW):
        record_presence(world.claim.pk, julia)
    with at(NOW + dt.timedelta(hours=23)):
        record_presence(world.claim.pk, tom)
    with at(NOW + dt.timedelta(days=1, seconds=1)):
        assert forget_old_presence() == 1
    assert list(ClaimPresence.objects.values_list("user_id", flat=True)) == [tom.pk]
    entry = settings.CELERY_BEAT_SCHEDULE["forget-old-presence"]
    assert (entry["task"], entry["schedule"]) == ("claims.tasks.forget_old_presence", 3600.0)
    with at(NOW + dt.timedelta(days=3)):
        record_presence(world.claim.pk, julia)
        assert ClaimPresence.objects.count() == 2  # a page's request never deletes: its queries stay the same
        assert tasks.forget_old_presence.delay().get() == 1
    assert list(ClaimPresence.objects.values_list("user_id", flat=True)) == [julia.pk]


# --- the heartbeat's door ---------------------------------------------------------------------------------------


def test_the_heartbeat_is_post_only_and_for_console_staff_who_may_view_claims(world, julia):
    url = beat_url(world.claim)
    client = agent_client(julia)
    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 200
    assert client.post(reverse("admin:claims_claim_presence", args=[999999])).status_code == 404
    assert client.post(reverse("admin:claims_claim_presence", args=["abc"])).status_code == 404
    assert agent_client(make_finance()).post(url).status_code == 200  # finance view claims read-only
    assert agent_client(make_plain_staff()).post(url).status_code == 403
    for outsider in (Client(), agent_client(world.buyer), agent_client(world.staff)):
        response = outsider.post(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))
    assert ClaimPresence.objects.filter(user__in=[world.buyer, world.staff]).count() == 0


def test_the_heartbeat_needs_the_csrf_token(world, julia):
    client = Client(enforce_csrf_checks=True)
    client.force_login(julia)
    version = opened(client, world.claim)
    assert client.post(beat_url(world.claim), {"version": version}).status_code == 403
    token = client.cookies["csrftoken"].value
    response = client.post(beat_url(world.claim), {"version": version}, headers={"X-CSRFToken": token})
    assert response.status_code == 200 and response.json()["changed"] is False


# --- changed since the page loaded ------------------------------------------------------------------------------


def test_unchanged_the_heartbeat_says_so(world, julia, tom):
    with at(NOW):
        client = agent_client(julia)
        version = opened(client, world.claim)
        agent_client(tom).get(page_url(world.claim))  # another agent only looking changes nothing
        answer = client.post(beat_url(world.claim), {"version": version}).json()
        assert client.post(beat_url(world.claim), {"version": "nonsense"}).json()["changed"] is False
    assert answer == {"others": ["Tom Berg"], "others_text": "Tom Berg also has this claim open.",
                      "version": version, "changed": False, "change": ""}


def test_a_message_by_someone_else_is_a_change_with_who_and_when(world, julia, tom):
    with at(NOW):
        client = agent_client(julia)
        version = opened(client, world.claim)
    with at(NOW + 60 * S):
        services.post_message(claim=world.claim, by=tom, body="I will call the buyer.", internal=True)
        answer = client.post(beat_url(world.claim), {"version": version}).json()
    assert answer["changed"] is True and answer["version"] != version
    assert answer["change"] == "New internal note by Tom Berg (Wed 11 Mar, 10:01 CET)"


def test_a_transition_is_a_change_and_says_what_happened(world, julia, tom):
    with at(NOW):
        client = agent_client(julia)
        version = opened(client, world.claim)
    with at(NOW + 60 * S):
        services.request_info(claim=world.claim, by=tom, party="buyer", question="Since when?")
        answer = client.post(beat_url(world.claim), {"version": version}).json()
    assert answer["changed"] is True
    # the question is a message too: the transition says most
    assert answer["change"] == "Information requested by Tom Berg (Wed 11 Mar, 10:01 CET) and 1 more change"


def test_an_assignment_a_reminder_and_the_sweeps_breach_are_changes(julia, tom):
    world = claim_world("awaiting_seller")
    with at(OPENED_AT + dt.timedelta(hours=2)):
        client = agent_client(julia)
        version = opened(client, world.claim)
        services.assign(claim=world.claim, by=tom, agent=tom)
        answer = client.post(beat_url(world.claim), {"version": version}).json()
        assert answer["change"] == "Assigned to Tom Berg (Tue 10 Mar, 12:00 CET)"
        version = opened(client, world.claim)
    with at(OPENED_AT + dt.timedelta(hours=24)):
        assert services.enforce_deadlines() == {"first_reply_reminder": 1}
        answer = client.post(beat_url(world.claim), {"version": version}).json()
        assert answer["changed"] is True
        assert answer["change"] == "Details or deadlines updated (Wed 11 Mar, 10:00 CET)"
        version = opened(client, world.claim)
    with at(OPENED_AT + dt.timedelta(hours=48)):
        assert services.enforce_deadlines() == {"first_reply_breached": 1}
        answer = client.post(beat_url(world.claim), {"version": version}).json()
    assert answer["change"] == "The seller missed the 48-hour reply deadline (Thu 12 Mar, 10:00 CET)"  # by the system


def test_the_version_moves_on_a_message_a_note_a_transition_and_an_assignment(world, julia, tom):
    claim = world.claim
    seen = [claim_version(claim.pk)]
    assert loaded_version(console_claim(claim.pk)) == seen[-1]  # what the page shows is what the heartbeat reads

    def moved() -> bool:
        seen.append(claim_version(claim.pk))
        assert loaded_version(console_claim(claim.pk)) == seen[-1]
        return seen[-1] != seen[-2]

    with at(NOW):
        services.post_message(claim=claim, by=tom, body="To both parties.")
        assert moved()
    with at(NOW):  # the same instant: the message's id still moves it
        services.post_message(claim=claim, by=tom, body="For agents.", internal=True)
        assert moved()
    with at(NOW + S):
        services.request_info(claim=claim, by=tom, party="seller", question="Tracking?")
        assert moved()
    with at(NOW + 2 * S):
        services.assign(claim=claim, by=tom, agent=julia)
        assert moved()
    with at(NOW + 3 * S):
        record_presence(claim.pk, julia)
        assert not moved()
    assert Version.parse(seen[-1].token) == seen[-1]
    assert claim_version(999999) is None


def test_the_partial_renders_nothing_without_its_context():
    assert render_to_string("admin/claims/claim/_presence.html", {}).strip() == ""
