"""Agents see and clear login lockouts in the console (accounts/admin_lockouts.py): one row per (username, address)
pair with its failures, last failure, until when it is locked and whether it is now; filtered and searched; cleared
by the list's action or the pair's delete button, which forgets the pair and writes lockout_cleared to the audit
log. Nobody adds or changes a row; people outside the agents group see nothing."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse

from claims.tests.admin_factories import make_console_agent, make_plain_staff
from core.models import AuditEvent
from sellers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
ATTACKER = "203.0.113.5"
TYPO = "198.51.100.7"
LIST = reverse("admin:axes_accessattempt_changelist")


@pytest.fixture(autouse=True)
def _policy(settings):
    settings.LOGIN_FAILURE_LIMIT = 5
    settings.LOGIN_LOCKOUT_BASE_SECONDS = 60
    settings.LOGIN_LOCKOUT_MAX_SECONDS = 3600


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def fail(username: str, address: str, times: int, *, agent: str = "Browser") -> None:
    client = Client(HTTP_USER_AGENT=agent)
    for _ in range(times):
        client.post(reverse("login"), {"username": username, "password": "guess"}, REMOTE_ADDR=address)


@pytest.fixture
def world(clock):
    buyer = UserFactory(username="buyer")
    fail("buyer", ATTACKER, 3, agent="Browser")
    fail("ＢＵＹＥＲ", ATTACKER, 2, agent="curl")  # same pair, another user agent: axes keeps a second row
    fail("buyer", TYPO, 2)
    fail("ghost", ATTACKER, 1)
    return buyer


@pytest.fixture
def agent_client(client):
    client.force_login(make_console_agent())
    return client


def rows(response) -> list[list[str]]:  # type: ignore[no-untyped-def]
    """The list's rows as the texts of their cells."""
    page = response.content.decode()
    if 'id="result_list"' not in page:
        return []
    body = page.split('id="result_list"')[1].split("</table>")[0]
    found = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body.split("<tbody>")[1], re.S):
        cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
        found.append([re.sub(r"<[^>]+>", "", cell).strip() for cell in cells][1:])  # (the checkbox)
    return found


def test_the_list_shows_each_pair_once_with_its_lock(agent_client, world, clock):
    clock.shift(30)
    response = agent_client.get(LIST)
    assert response.status_code == 200
    assert "Login lockouts" in response.content.decode()
    listed = {(row[0], row[1]): row for row in rows(response)}
    assert set(listed) == {("buyer", ATTACKER), ("buyer", TYPO), ("ghost", ATTACKER)}
    locked = listed[("buyer", ATTACKER)]
    assert locked[2] == "5" and locked[5] == "Yes"  # 3 + 2 failures over two rows: 5, the wait 60 s
    assert "10:01" in locked[4]  # until 09:01 UTC, 10:01 in Berlin
    assert listed[("buyer", TYPO)][2] == "2" and listed[("buyer", TYPO)][5] == "No"
    assert listed[("buyer", TYPO)][4] == "—"


def test_filter_and_search(agent_client, world, clock):
    assert {(r[0], r[1]) for r in rows(agent_client.get(LIST, {"locked": "yes"}))} == {("buyer", ATTACKER)}
    assert {(r[0], r[1]) for r in rows(agent_client.get(LIST, {"locked": "no"}))} == {("buyer", TYPO),
                                                                                      ("ghost", ATTACKER)}
    assert {(r[0], r[1]) for r in rows(agent_client.get(LIST, {"q": "ＢＵＹＥＲ"}))} == {("buyer", ATTACKER),
                                                                                        ("buyer", TYPO)}
    assert {(r[0], r[1]) for r in rows(agent_client.get(LIST, {"q": TYPO}))} == {("buyer", TYPO)}
    counted = agent_client.get(LIST, {"_facets": "True"}).content.decode()  # the filter's counts
    assert re.search(r"Yes\s*\(1\)", counted) and re.search(r"No\s*\(2\)", counted)
    clock.shift(60)  # the wait of 5 failures is over: no longer locked
    assert rows(agent_client.get(LIST, {"locked": "yes"})) == []


def test_the_clear_action_lets_the_pair_in_again_and_is_audited(agent_client, world, clock):
    pair = AccessAttempt.objects.filter(username="buyer", ip_address=ATTACKER).order_by("-attempt_time", "-id").first()
    response = agent_client.post(LIST, {"action": "clear_lockouts", "_selected_action": [pair.pk]})
    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(username="buyer", ip_address=ATTACKER).exists()  # both rows
    assert AccessAttempt.objects.filter(username="buyer", ip_address=TYPO).exists()
    event = AuditEvent.objects.get(kind="lockout_cleared")
    assert event.subject_user == world and event.actor.groups.filter(name="agents").exists()
    assert event.details == {"failures": 5, "address": ATTACKER}
    response = Client().post(reverse("login"), {"username": "buyer", "password": "pw-for-tests-only"},
                             REMOTE_ADDR=ATTACKER)
    assert response.status_code == 302


def test_deleting_a_pair_is_clearing_it(agent_client, world):
    ghost = AccessAttempt.objects.get(username="ghost")
    page = agent_client.get(reverse("admin:axes_accessattempt_change", args=[ghost.pk]))
    assert page.status_code == 200 and 'name="username"' not in page.content.decode()  # read only
    response = agent_client.post(reverse("admin:axes_accessattempt_delete", args=[ghost.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(username="ghost").exists()
    event = AuditEvent.objects.get(kind="lockout_cleared")
    # (no account is named "ghost": the digest stands for the name; core.audit makes the agent the subject then)
    assert event.details["username_digest"] and "ghost" not in str(event.details)


def test_nothing_is_added_or_changed_and_axes_own_pages_are_gone(agent_client, world):
    pair = AccessAttempt.objects.filter(username="buyer").first()
    assert agent_client.get(reverse("admin:axes_accessattempt_add")).status_code == 403
    response = agent_client.post(reverse("admin:axes_accessattempt_change", args=[pair.pk]),
                                 {"username": "someone", "failures_since_start": "0"})
    assert response.status_code == 403
    assert AccessAttempt.objects.filter(username="buyer").count() == 3
    assert "delete_selected" not in agent_client.get(LIST).content.decode()
    page = agent_client.get(reverse("admin:index")).content.decode()
    assert "access log" not in page.lower() and "access failure" not in page.lower()


def test_people_outside_the_agents_group_see_nothing(client, world):
    client.force_login(make_plain_staff())
    assert client.get(LIST).status_code == 403
    pair = AccessAttempt.objects.first()
    assert client.post(reverse("admin:axes_accessattempt_delete", args=[pair.pk]), {"post": "yes"}).status_code == 403
    assert AccessAttempt.objects.filter(pk=pair.pk).exists()
