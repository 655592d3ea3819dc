"""The audit log (issue 18): "refunds and payouts, ledger adjustments, data exports and erasures [and API keys] in an
append-only audit log that superusers can read and filter".

Each of those writes exactly one line, with who did it, whose account it concerns and the record, and never a name
or an email; a repeated confirmation or a second revocation writes none. The log refuses changes through the ORM and,
on PostgreSQL, through raw SQL (core migration 0002's trigger). In the console only superusers read it, newest first,
filtered by kind and date, searched by an account's number or username, at a fixed number of queries; nobody adds,
changes or deletes a line there.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from decimal import Decimal
from urllib.parse import parse_qsl

import pytest
import time_machine
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import erasure
from claims import services
from claims.tests.admin_factories import make_console_agent, make_finance, make_superuser
from claims.tests.factories import OPENED_AT, claim_world
from core import audit
from core.models import AuditEvent, AuditKind
from integrations.keys import create_api_key, revoke_api_key
from sellers import services as seller_services
from sellers.tests.factories import SellerFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = OPENED_AT + dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


def lines(kind: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(kind=kind).order_by("id"))


def no_names_in(events: list[AuditEvent], *people) -> None:  # type: ignore[no-untyped-def]
    text = json.dumps([[event.summary, event.details] for event in events])
    for person in people:
        for value in (person.username, person.email, person.first_name, person.last_name):
            if value:
                assert value not in text, value


# --- one line each ---------------------------------------------------------------------------------------------


def test_a_refund_and_its_payout_paid_or_failed():
    world = claim_world("escalated")
    services.decide(claim=world.claim, by=world.agent, outcome="refund", funded_by="platform")
    refund = world.claim.refunds.get()
    [line] = lines(AuditKind.REFUND)
    assert (line.actor, line.subject_user, line.object_type, line.object_id) == (
        world.agent, world.buyer, "claims.refund", str(refund.pk))
    assert line.details == {"amount": str(refund.amount), "currency": "EUR", "funded_by": "platform",
                            "claim": world.claim.number}
    finance = make_finance()
    services.mark_refund_failed(refund=refund, reason="Card expired", by=finance)
    services.mark_refund_failed(refund=refund, reason="Card expired", by=finance)  # the same failure again: nothing
    services.retry_refund(refund=refund, by=finance)
    services.mark_refund_paid(refund=refund, reference="PAY-1", by=None)  # the payments webhook: the system
    services.mark_refund_paid(refund=refund, reference="PAY-1", by=None)  # repeated confirmation: nothing
    payouts = lines(AuditKind.PAYOUT)
    assert [(p.actor, p.subject_user, p.details["status"]) for p in payouts] == [
        (finance, world.buyer, "failed"), (None, world.buyer, "paid")]
    assert all(p.object_id == str(refund.pk) and p.details["amount"] == str(refund.amount) for p in payouts)
    assert "Card expired" not in json.dumps(payouts[0].details)  # the bank's words stay in the refund's events
    no_names_in(lines(AuditKind.REFUND) + payouts, world.buyer, world.agent, finance)


def test_a_refund_rolled_back_leaves_no_line():
    world = claim_world("escalated")
    with pytest.raises(RuntimeError), transaction.atomic():
        services.decide(claim=world.claim, by=world.agent, outcome="refund", funded_by="seller")
        raise RuntimeError("the request failed after the decision")
    assert lines(AuditKind.REFUND) == []


def test_a_ledger_adjustment():
    agent = make_console_agent(first_name="Ada")
    seller = SellerFactory()
    entry = seller_services.add_adjustment(seller=seller, by=agent, amount=Decimal("-12.50"), note="Goodwill")
    [line] = lines(AuditKind.LEDGER_ADJUSTMENT)
    assert (line.actor, line.subject_user, line.object_type, line.object_id) == (
        agent, agent, "sellers.ledgerentry", str(entry.pk))
    assert line.details == {"seller": seller.pk, "amount": "-12.50", "currency": "EUR"}


def test_api_keys_made_and_revoked_once():
    owner = UserFactory()
    seller = SellerFactory()
    api_key, key = create_api_key(name="ERP", seller=seller, created_by=owner)
    revoke_api_key(api_key=api_key, by=owner)
    revoke_api_key(api_key=api_key, by=owner)  # already revoked: nothing
    created, revoked = lines(AuditKind.API_KEY_CREATED), lines(AuditKind.API_KEY_REVOKED)
    assert [(line.actor, line.object_id, line.details["prefix"]) for line in created + revoked] == [
        (owner, str(api_key.pk), api_key.prefix)] * 2
    assert created[0].details == {"prefix": api_key.prefix, "scope": "read", "seller": seller.pk}
    assert key not in json.dumps(created[0].details)  # the key itself never
    platform_key, _key = create_api_key(name="Shop", seller=None, scope="write")  # the command line: nobody
    assert lines(AuditKind.API_KEY_CREATED)[-1].actor is None
    assert lines(AuditKind.API_KEY_CREATED)[-1].details["seller"] is None and platform_key.pk


def test_data_export_and_erasure(client):
    buyer = UserFactory(first_name="Zora", last_name="Example")
    client.force_login(buyer)
    client.post(reverse("accounts:export"))
    request = erasure.request_erasure(user=buyer)
    agent = make_console_agent()
    erasure.refuse(request, by=agent, note="A claim is open.")
    erasure.erase(erasure.request_erasure(user=buyer), by=agent)
    kinds = [(line.kind, line.actor, line.subject_user)
             for line in AuditEvent.objects.exclude(kind=AuditKind.LOGIN).order_by("id")]
    assert kinds == [(AuditKind.DATA_EXPORT, buyer, buyer), (AuditKind.ERASURE_REQUESTED, buyer, buyer),
                     (AuditKind.ERASURE_REFUSED, agent, buyer), (AuditKind.ERASURE_REQUESTED, buyer, buyer),
                     (AuditKind.ERASURE_DONE, agent, buyer)]
    no_names_in(list(AuditEvent.objects.all()), agent)
    assert "Zora" not in json.dumps([[line.summary, line.details] for line in AuditEvent.objects.all()])


# --- append-only -----------------------------------------------------------------------------------------------


def test_the_orm_refuses_every_change():
    line = audit.record(AuditKind.LOGIN, actor=UserFactory())
    with pytest.raises(TypeError, match="append-only"):
        AuditEvent.objects.filter(pk=line.pk).update(summary="changed")
    with pytest.raises(TypeError, match="append-only"):
        AuditEvent.objects.filter(pk=line.pk).delete()
    line.summary = "changed"
    with pytest.raises(TypeError, match="append-only"):
        line.save()
    with pytest.raises(TypeError, match="append-only"):
        line.delete()
    assert AuditEvent.objects.get(pk=line.pk).summary == ""
    # Nothing of the audit log is redactable: it holds no person's words.
    with pytest.raises(TypeError, match="nothing may be redacted"):
        AuditEvent.objects.filter(pk=line.pk).redact(summary="changed")


def test_the_transition_log_lets_only_its_reasons_be_redacted():
    from claims.models import ClaimTransition

    step = claim_world("escalated").claim.transitions.exclude(reason="").first()
    steps = ClaimTransition.objects.filter(pk=step.pk)
    with pytest.raises(TypeError, match=r"only \['reason'\] may be redacted"):
        steps.redact(to_state="resolved")
    with pytest.raises(TypeError, match="append-only"):
        steps.update(reason="changed")
    assert steps.redact(reason="[erased]") == 1
    changed = steps.get()
    assert (changed.reason, changed.to_state, changed.actor_id, changed.created_at) == (
        "[erased]", step.to_state, step.actor_id, step.created_at)


@pytest.mark.parametrize("statement", ["UPDATE core_auditevent SET summary = 'changed' WHERE id = %s",
                                       "DELETE FROM core_auditevent WHERE id = %s"])
def test_postgresql_refuses_raw_sql_too(requires_postgresql, statement):
    line = audit.record(AuditKind.LOGIN, actor=UserFactory())
    with pytest.raises(DatabaseError, match="the audit log is append-only"), transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute(statement, [line.pk])
    assert AuditEvent.objects.get(pk=line.pk).summary == ""


# --- the console -----------------------------------------------------------------------------------------------


def listed(client, **params) -> list[int]:  # type: ignore[no-untyped-def]
    page = client.get(reverse("admin:core_auditevent_changelist"), params).content.decode()
    return [int(pk) for pk in re.findall(r'href="/admin/core/auditevent/(\d+)/change/', page)]


def test_superusers_read_and_filter_newest_first(client):
    somebody, other = UserFactory(username="somebody"), UserFactory()
    superuser = make_superuser()
    with time_machine.travel(NOW - dt.timedelta(days=40), tick=False):
        old = audit.record(AuditKind.LOGIN, actor=somebody)
    client.force_login(superuser)  # a line of its own (accounts.receivers)
    [own] = AuditEvent.objects.filter(actor=superuser)
    login = audit.record(AuditKind.LOGIN, actor=somebody)
    failed = audit.record(AuditKind.LOGIN_FAILED, subject=somebody, summary="wrong password")
    elsewhere = audit.record(AuditKind.LOGIN, actor=other)
    assert listed(client) == [elsewhere.pk, failed.pk, login.pk, own.pk, old.pk]
    assert listed(client, kind__exact="login_failed") == [failed.pk]
    # the date filter's "Today" (Django's DateFieldListFilter: midnight to midnight in the marketplace's zone)
    page = client.get(reverse("admin:core_auditevent_changelist")).content.decode()
    [today] = [html.unescape(link) for link in re.findall(r'href="(\?at__gte=[^"]+)"', page) if "at__lt" in link][:1]
    assert listed(client, **dict(parse_qsl(today[1:]))) == [elsewhere.pk, failed.pk, login.pk, own.pk]
    assert listed(client, q="somebody") == [failed.pk, login.pk, old.pk]  # as actor or as the account concerned
    assert listed(client, q=" SOMEBODY ") == [failed.pk, login.pk, old.pk]  # the username's one spelling
    assert listed(client, q=str(other.pk)) == [elsewhere.pk]
    page = client.get(reverse("admin:core_auditevent_change", args=[failed.pk])).content.decode()
    assert "wrong password" in page and f"#{somebody.pk} somebody" in page


def test_the_log_writes_its_moments_as_the_console_does(client):
    """In the marketplace's zone with its name, as every other console page (core.formatting.moment), to the second
    in the cell's title; the line's own name too (the breadcrumb's), not a bare UTC time."""
    client.force_login(make_superuser())
    with time_machine.travel(dt.datetime(2026, 7, 14, 8, 5, 9, tzinfo=dt.UTC), tick=False):
        line = audit.record(AuditKind.LOGIN_FAILED, summary="wrong password")
    page = client.get(reverse("admin:core_auditevent_changelist")).content.decode()
    assert ('<time datetime="2026-07-14T10:05:09+02:00" title="2026-07-14 10:05:09 CEST">Tue 14 Jul, 10:05 CEST</time>'
            in page)
    page = client.get(reverse("admin:core_auditevent_change", args=[line.pk])).content.decode()
    assert "Login failed · Tue 14 Jul, 10:05 CEST" in page
    assert str(line) == "Login failed · Tue 14 Jul, 10:05 CEST"


def test_the_list_costs_the_same_for_a_few_lines_and_many(client):
    client.force_login(make_superuser())
    people = [UserFactory() for _ in range(3)]
    for person in people:
        audit.record(AuditKind.LOGIN, actor=person)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("admin:core_auditevent_changelist")).status_code == 200
        return len(captured)

    few = queries()
    for n in range(40):
        audit.record(AuditKind.LOGIN_FAILED, subject=UserFactory(), actor=people[n % 3], obj=people[0])
    assert queries() == few


def test_agents_are_refused_and_nobody_writes(client):
    line = audit.record(AuditKind.LOGIN, actor=UserFactory())
    client.force_login(make_console_agent())
    for url in (reverse("admin:core_auditevent_changelist"), reverse("admin:core_auditevent_change", args=[line.pk])):
        assert client.get(url).status_code == 403
    assert reverse("admin:core_auditevent_changelist") not in client.get(reverse("admin:index")).content.decode()
    client.force_login(make_superuser())
    assert reverse("admin:core_auditevent_changelist") in client.get(reverse("admin:index")).content.decode()
    assert client.get(reverse("admin:core_auditevent_add")).status_code == 403
    assert client.post(reverse("admin:core_auditevent_delete", args=[line.pk]), {"post": "yes"}).status_code == 403
    page = client.get(reverse("admin:core_auditevent_change", args=[line.pk])).content.decode()
    assert 'name="summary"' not in page and "_save" not in page
    assert AuditEvent.objects.filter(pk=line.pk).exists()
