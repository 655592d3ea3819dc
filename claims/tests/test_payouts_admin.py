"""The payout queue in the support console (manual provider): who sees it and who acts, its order, search and query
count, the CSV of pending payouts, marking paid / failed / retrying one by one and in bulk (each refund through
its service, each refusal shown, nothing half-done), and the CSV import of confirmations (good rows, bad rows, the
same file twice, files that are not CSV text)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
import time_machine
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from claims import services
from claims.models import OutboundEmail, Refund, RefundEvent
from claims.tests.admin_factories import make_console_agent, make_finance, make_plain_staff, make_superuser
from claims.tests.factories import OPENED_AT, delivered_order, open_defective_claim
from sellers.tests.factories import make_agent

pytestmark = pytest.mark.django_db
NOW = OPENED_AT + dt.timedelta(days=1)
CHANGELIST = "admin:claims_refund_changelist"


@pytest.fixture(autouse=True)
def _frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def finance():
    return make_finance(first_name="Frieda", last_name="Kasse")


def make_refund(*, funded_by: str = "seller", at: dt.datetime = OPENED_AT, amount: str | None = None,
                **order_kwargs) -> Refund:
    """A claim decided for the buyer by an agent: one refund, pending payout."""
    order = delivered_order(**order_kwargs)
    claim = open_defective_claim(at=at, order=order)
    agent = make_agent()
    with time_machine.travel(at + dt.timedelta(hours=1), tick=False):
        services.escalate(claim=claim, by=agent, reason="Seller inaction")
        if amount:  # a partial refund of a defect needs its type (claims.remedies)
            services.classify_defect(claim=claim, by=agent, defect_type="irremovable")
        services.decide(claim=claim, by=agent, outcome="partial_refund" if amount else "refund",
                        funded_by=funded_by, amount=amount)
    return claim.refunds.get()


def fresh(refund: Refund) -> Refund:
    return Refund.objects.get(pk=refund.pk)


def texts(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(m) for m in get_messages(response.wsgi_request)]


def step_url(step: str, *refunds: Refund) -> str:
    return reverse(f"admin:claims_refund_{step}") + "?ids=" + ",".join(str(r.pk) for r in refunds)


def csv_rows(response) -> list[list[str]]:  # type: ignore[no-untyped-def]
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.reader(io.StringIO(body.decode("utf-8"))))


def refund_ids_on(response) -> list[int]:  # type: ignore[no-untyped-def]
    """Refund ids in the order the list shows them (the id column links to the refund's page)."""
    return [int(pk) for pk in re.findall(r'<th class="field-id"><a href="[^"]*/claims/refund/(\d+)/change/',
                                         response.content.decode())]


# --- who sees and who acts --------------------------------------------------------------------------------


def test_the_finance_group_sees_the_queue_agents_do_not(client, finance):
    refund = make_refund()
    url = reverse(CHANGELIST)
    client.force_login(finance)
    page = client.get(url).content.decode()
    assert refund.claim.number in page and refund.claim.order.number in page
    assert reverse("admin:claims_refund_export") in page and reverse("admin:claims_refund_import") in page
    for action in ("export_csv", "mark_paid", "mark_failed", "retry"):
        assert f'value="{action}"' in page
    client.force_login(make_console_agent())  # agents work claims, not payouts
    assert client.get(url).status_code == 403
    assert client.get(reverse("admin:claims_refund_change", args=[refund.pk])).status_code == 403
    client.force_login(refund.claim.buyer)  # not staff at all
    assert client.get(url)["Location"].startswith(reverse("admin:login"))


def test_staff_who_may_only_view_refunds_change_nothing(client):
    refund = make_refund()
    viewer = make_plain_staff()
    viewer.user_permissions.add(Permission.objects.get(codename="view_refund"))
    client.force_login(viewer)
    page = client.get(reverse(CHANGELIST)).content.decode()
    assert refund.claim.number in page
    assert 'value="mark_paid"' not in page and reverse("admin:claims_refund_import") not in page
    assert 'name="_selected_action"' not in page
    for url in (step_url("pay", refund), reverse("admin:claims_refund_import"), reverse("admin:claims_refund_export")):
        assert client.get(url).status_code == 403
    response = client.post(reverse("admin:claims_refund_pay"), {"ids": str(refund.pk),
                                                                 f"value-{refund.pk}": "PAY-1"})
    assert response.status_code == 403
    response = client.post(reverse(CHANGELIST), {"action": "mark_paid", "_selected_action": [refund.pk]})
    assert fresh(refund).status == "pending" and not LogEntry.objects.exists()
    change = client.get(reverse("admin:claims_refund_change", args=[refund.pk])).content.decode()
    assert refund.claim.number in change and reverse("admin:claims_refund_pay") not in change


def test_the_buyer_is_masked_the_claim_linked_and_the_payment_shown(client, finance):
    refund = make_refund(card_last4="4242")
    client.force_login(finance)
    page = client.get(reverse(CHANGELIST)).content.decode()
    email = refund.claim.buyer.email
    assert email not in page and f"{email[0]}***@e***.com" in page
    assert reverse("admin:claims_claim_change", args=[refund.claim_id]) in page  # finance may view claims
    assert "Card ending 4242" in page and refund.claim.order.payment_reference in page
    assert "199.00" in page and "Pending payout" in page


def test_the_refund_page_is_read_only_with_the_payout_buttons(client, finance):
    refund = make_refund()
    client.force_login(finance)
    url = reverse("admin:claims_refund_change", args=[refund.pk])
    page = client.get(url).content.decode()
    assert 'name="status"' not in page and 'name="amount"' not in page
    assert step_url("pay", refund) in page.replace("&amp;", "&") and step_url("retry", refund) not in page
    assert client.post(url, {"status": "paid"}).status_code == 403
    assert client.get(reverse("admin:claims_refund_add")).status_code == 403
    assert client.post(reverse("admin:claims_refund_delete", args=[refund.pk]), {"post": "yes"}).status_code == 403
    assert fresh(refund).status == "pending"


# --- the list ---------------------------------------------------------------------------------------------


def test_failed_then_pending_first_oldest_first(client, finance):
    paid = make_refund(at=OPENED_AT - dt.timedelta(hours=5))
    old_pending = make_refund(at=OPENED_AT - dt.timedelta(hours=4))
    failed = make_refund(at=OPENED_AT - dt.timedelta(hours=3))
    new_pending = make_refund(at=OPENED_AT - dt.timedelta(hours=2))
    services.mark_refund_paid(refund=paid, reference="PAY-1", by=finance)
    services.mark_refund_failed(refund=failed, reason="Card expired", by=finance)
    client.force_login(finance)
    response = client.get(reverse(CHANGELIST))
    assert refund_ids_on(response) == [failed.pk, old_pending.pk, new_pending.pk, paid.pk]
    assert refund_ids_on(client.get(reverse(CHANGELIST), {"status__exact": "pending"})) == [old_pending.pk,
                                                                                            new_pending.pk]
    page = response.content.decode()
    assert "Card expired" in page and "payout-failed" in page


def test_search_by_refund_claim_order_and_payment_reference(client, finance):
    wanted, other = make_refund(), make_refund()
    services.mark_refund_paid(refund=wanted, reference="BANK-778", by=finance)
    client.force_login(finance)
    url = reverse(CHANGELIST)
    for term in (str(wanted.pk), wanted.claim.number.lower(), wanted.claim.order.number,
                 wanted.claim.order.payment_reference, "BANK-778"):
        assert refund_ids_on(client.get(url, {"q": term})) == [wanted.pk], term
    assert refund_ids_on(client.get(url, {"q": "nothing-like-this"})) == []
    assert other.pk in refund_ids_on(client.get(url))


def test_list_queries_do_not_grow_with_the_rows(client, finance):
    client.force_login(finance)
    url = reverse(CHANGELIST)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    make_refund(card_last4="1111")
    with_one = count()
    for n in range(29):
        refund = make_refund(at=OPENED_AT - dt.timedelta(minutes=n + 1), funded_by="platform" if n % 2 else "seller")
        if n % 3 == 0:
            services.mark_refund_paid(refund=refund, reference=f"PAY-{n}", by=finance)
        elif n % 3 == 1:
            services.mark_refund_failed(refund=refund, reason="Account closed", by=finance)
    assert Refund.objects.count() == 30
    assert count() == with_one


# --- export -----------------------------------------------------------------------------------------------


def test_export_lists_pending_manual_payouts_only(client, finance, settings):
    first = make_refund(at=OPENED_AT - dt.timedelta(hours=2), card_last4="4242", payment_reference="=cmd|calc")
    second = make_refund(at=OPENED_AT - dt.timedelta(hours=1), amount="12.5", payment_method="paypal")
    paid = make_refund()
    services.mark_refund_paid(refund=paid, reference="PAY-9", by=finance)
    settings.REFUND_PROVIDER = "webhook"
    webhook = make_refund()  # the worker pays this one: never in the finance team's file
    settings.REFUND_PROVIDER = "manual"
    assert webhook.provider == "webhook"
    client.force_login(finance)
    response = client.get(reverse("admin:claims_refund_export"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="payouts-')
    assert csv_rows(response) == [
        ["refund_id", "claim", "order", "payment_method", "payment_reference", "card_last4", "amount", "currency"],
        [str(first.pk), first.claim.number, first.claim.order.number, "card", "'=cmd|calc", "4242", "199.00", "EUR"],
        [str(second.pk), second.claim.number, second.claim.order.number, "paypal",
         second.claim.order.payment_reference, "", "12.50", "EUR"],
    ]


def test_export_of_the_selection(client, finance):
    chosen, _pending_not_chosen, paid = make_refund(), make_refund(), make_refund()
    services.mark_refund_paid(refund=paid, reference="PAY-1", by=finance)
    client.force_login(finance)
    response = client.post(reverse(CHANGELIST), {"action": "export_csv", "_selected_action": [chosen.pk, paid.pk]})
    rows = csv_rows(response)
    assert [row[0] for row in rows[1:]] == [str(chosen.pk)]  # not the paid one, nor one not selected
    assert any("not pending manual payout" in text or "is not a pending" in text for text in texts(response))


# --- mark paid, mark failed, retry ------------------------------------------------------------------------


def test_bulk_mark_paid_with_one_reference_per_refund(client, finance, django_capture_on_commit_callbacks):
    a, b, c = make_refund(), make_refund(), make_refund()
    already = make_refund()
    services.mark_refund_paid(refund=already, reference="OLD-1", by=finance)
    client.force_login(finance)
    response = client.post(reverse(CHANGELIST), {"action": "mark_paid",
                                                 "_selected_action": [a.pk, b.pk, c.pk, already.pk]})
    assert response.status_code == 302
    page_url = response["Location"]
    assert page_url.startswith(reverse("admin:claims_refund_pay"))
    before = RefundEvent.objects.count()
    page = client.get(page_url).content.decode()
    assert RefundEvent.objects.count() == before  # GET shows, never changes
    for refund in (a, b, c):
        assert f'name="value-{refund.pk}"' in page and f'for="id_value-{refund.pk}"' in page
    assert f'name="value-{already.pk}"' not in page and "OLD-1" in page
    ids = re.search(r'name="ids" value="([^"]+)"', page).group(1)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:claims_refund_pay"), {
            "ids": ids, "next": reverse(CHANGELIST), f"value-{a.pk}": " PAY-A ", f"value-{b.pk}": "PAY-B",
            f"value-{c.pk}": ""})
    assert response.status_code == 302 and response["Location"] == reverse(CHANGELIST)
    assert (fresh(a).status, fresh(a).payment_reference, fresh(a).paid_at) == ("paid", "PAY-A", NOW)
    assert (fresh(b).status, fresh(b).payment_reference) == ("paid", "PAY-B")
    assert fresh(c).status == "pending" and fresh(already).payment_reference == "OLD-1"
    assert texts(response) == ["2 refunds marked as paid.", "1 refund left as it was (nothing entered)."]
    content_type = ContentType.objects.get_for_model(Refund)
    logged = LogEntry.objects.filter(content_type=content_type, action_flag=CHANGE, user=finance)
    assert sorted(int(e.object_id) for e in logged) == sorted([a.pk, b.pk])
    assert "PAY-A" in logged.get(object_id=str(a.pk)).change_message
    assert OutboundEmail.objects.filter(event="refund_paid").count() == 3  # a, b and the one paid before


def test_refusals_are_shown_per_refund_and_change_nothing_for_it(client, finance):
    paid, pending = make_refund(), make_refund()
    services.mark_refund_paid(refund=paid, reference="PAY-1", by=finance)
    client.force_login(finance)
    response = client.post(reverse("admin:claims_refund_pay"), {
        "ids": f"{paid.pk},{pending.pk}", f"value-{pending.pk}": "PAY-2"})
    assert fresh(pending).status == "paid"
    # A paid refund is not offered again; one paid by someone else meanwhile is refused by the service.
    stale = make_refund()
    page = client.get(step_url("pay", stale)).content.decode()
    assert f'name="value-{stale.pk}"' in page
    services.mark_refund_paid(refund=stale, reference="PAY-OTHER", by=make_finance())
    response = client.post(reverse("admin:claims_refund_pay"), {"ids": str(stale.pk), f"value-{stale.pk}": "PAY-3"})
    assert response.status_code == 302
    messages = texts(response)
    assert any(str(stale.pk) in m and "already paid" in m for m in messages), messages
    assert fresh(stale).payment_reference == "PAY-OTHER"


def test_a_reference_too_long_keeps_the_form_and_changes_nothing(client, finance):
    refund = make_refund()
    client.force_login(finance)
    response = client.post(reverse("admin:claims_refund_pay"), {"ids": str(refund.pk),
                                                                 f"value-{refund.pk}": "X" * 101})
    assert response.status_code == 400 and "errornote" in response.content.decode()
    assert fresh(refund).status == "pending"


def test_mark_failed_with_the_reason_then_retry(client, finance):
    refund = make_refund()
    client.force_login(finance)
    response = client.post(reverse(CHANGELIST), {"action": "mark_failed", "_selected_action": [refund.pk]})
    assert response["Location"].startswith(reverse("admin:claims_refund_fail"))
    client.post(reverse("admin:claims_refund_fail"), {"ids": str(refund.pk), f"value-{refund.pk}": "Card expired"})
    refund = fresh(refund)
    assert (refund.status, refund.failure_reason, refund.failed_at) == ("failed", "Card expired", NOW)
    assert OutboundEmail.objects.filter(event="refund_failed").count() == 1
    # Retry: offered for failed payouts only, with a confirmation page.
    page = client.get(step_url("retry", refund)).content.decode()
    assert "Retry" in page and f'name="value-{refund.pk}"' not in page
    response = client.post(reverse("admin:claims_refund_retry"), {"ids": str(refund.pk)})
    assert texts(response) == ["1 payout put back in the queue."]
    assert fresh(refund).status == "pending"
    assert list(refund.events.values_list("to_status", flat=True)) == ["pending", "failed", "pending"]
    # Nothing failed is selected: nothing to retry.
    response = client.get(step_url("retry", refund))
    assert response.status_code == 302 and any("None of the selected refunds" in t for t in texts(response))


def test_every_step_is_refused_outside_the_finance_team(client):
    refund = make_refund()
    for who in (make_console_agent(), make_plain_staff()):
        client.force_login(who)
        for step in ("pay", "fail", "retry"):
            assert client.get(step_url(step, refund)).status_code == 403
            response = client.post(reverse(f"admin:claims_refund_{step}"),
                                   {"ids": str(refund.pk), f"value-{refund.pk}": "X"})
            assert response.status_code == 403
    assert fresh(refund).status == "pending" and refund.events.count() == 1


def test_selecting_too_many_is_refused(client, finance, monkeypatch):
    from claims.admin import payouts

    monkeypatch.setattr(payouts, "MAX_BATCH", 2)
    refunds = [make_refund() for _ in range(3)]
    client.force_login(finance)
    response = client.post(reverse(CHANGELIST), {"action": "mark_paid",
                                                 "_selected_action": [r.pk for r in refunds]})
    assert response.status_code == 302 and response["Location"].startswith(reverse(CHANGELIST))
    assert "at most 2" in texts(response)[0]


def test_the_next_url_stays_in_the_queue(client, finance):
    refund = make_refund()
    client.force_login(finance)
    response = client.post(reverse("admin:claims_refund_pay"), {
        "ids": str(refund.pk), f"value-{refund.pk}": "PAY-1", "next": "https://evil.example/"})
    assert response["Location"] == reverse(CHANGELIST)


# --- import -----------------------------------------------------------------------------------------------


def upload(client, content: str | bytes, name: str = "confirmations.csv"):  # type: ignore[no-untyped-def]
    data = content.encode("utf-8") if isinstance(content, str) else content
    return client.post(reverse("admin:claims_refund_import"), {"file": SimpleUploadedFile(name, data)})


def test_import_applies_good_rows_and_a_repeat_changes_nothing(client, finance, django_capture_on_commit_callbacks):
    to_pay, to_fail = make_refund(), make_refund()
    client.force_login(finance)
    content = (f"refund_id,status,reference,reason\n{to_pay.pk},paid,PAYOUT-1,\n"
               f"{to_fail.pk},FAILED,,Account closed\n\n")
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, content)
    assert response.status_code == 200
    assert (fresh(to_pay).status, fresh(to_pay).payment_reference) == ("paid", "PAYOUT-1")
    assert (fresh(to_fail).status, fresh(to_fail).failure_reason) == ("failed", "Account closed")
    assert texts(response) == ["2 applied, 0 already recorded, 0 refused."]
    page = response.content.decode()
    assert "Marked paid with reference PAYOUT-1." in page and "Marked failed: Account closed" in page
    events, emails, logs = RefundEvent.objects.count(), OutboundEmail.objects.count(), LogEntry.objects.count()
    assert logs == 2
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, content)  # the same file again
    assert texts(response) == ["0 applied, 2 already recorded, 0 refused."]
    assert (RefundEvent.objects.count(), OutboundEmail.objects.count(), LogEntry.objects.count()) == (
        events, emails, logs)


def test_import_refuses_bad_rows_one_by_one(client, finance):
    good, paid, other_paid = make_refund(), make_refund(), make_refund()
    services.mark_refund_paid(refund=paid, reference="PAY-OLD", by=finance)
    services.mark_refund_paid(refund=other_paid, reference="PAY-OLD-2", by=finance)
    client.force_login(finance)
    content = "\n".join([
        "Refund_ID ; Status ; Reference ; Reason ; Note",  # semicolons (a spreadsheet in German), extra column
        f"{good.pk};paid;PAY-GOOD;;ok",
        "999999;paid;PAY-X;;",
        f"{good.pk};paid;PAY-GOOD-AGAIN;;",
        "abc;paid;PAY-Y;;",
        f"{paid.pk};refunded;PAY-Z;;",
        f"{paid.pk};paid;;;",
        f"{paid.pk};failed;;;",
        f"{paid.pk};failed;;Bank says no;",
        f"{other_paid.pk};paid;PAY-NEW;;",
    ])
    response = upload(client, content, name="not-even-a-csv-name.txt")
    assert response.status_code == 200
    page = response.content.decode()
    assert fresh(good).payment_reference == "PAY-GOOD"
    assert fresh(paid).payment_reference == "PAY-OLD" and fresh(paid).status == "paid"
    for sentence in ("There is no refund 999999.", f"Refund {good.pk} is already on line 2 of this file.",
                     "“abc” is not a refund id.", "The status must be “paid” or “failed”, not “refunded”.",
                     "A paid refund needs the payment provider&#x27;s reference.",
                     "A failed refund needs the reason it failed.", "a paid refund cannot fail",
                     f"Refund {other_paid.pk} was already paid with reference PAY-OLD-2."):
        assert sentence in page, sentence
    assert texts(response) == ["1 applied, 0 already recorded, 8 refused."]


@pytest.mark.parametrize(("content", "message"), [
    (b"\xff\xfe r\x00e\x00f\x00", "not UTF-8 text"),
    (b"refund_id,status\n1,paid\n", "missing: reference, reason"),
    (b"", "The submitted file is empty."),
    (b"\n\n", "The file is empty."),
    (b"refund_id,status,reference,reason\n", "no rows"),
    (b"refund_id,status,reference,reason\n1,paid,\x00,\n", "not a text CSV file"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not UTF-8 text"),
])
def test_import_refuses_files_that_are_not_confirmation_csv(client, finance, content, message):
    refund = make_refund()
    client.force_login(finance)
    response = upload(client, content, name="confirmations.csv")
    assert response.status_code == 400
    assert message in response.content.decode().replace("&#x27;", "'")
    assert fresh(refund).status == "pending" and not LogEntry.objects.exists()


def test_import_size_and_row_limits(client, finance, monkeypatch):
    from claims import payout_files

    refund = make_refund()
    client.force_login(finance)
    big = "refund_id,status,reference,reason\n" + f"{refund.pk},paid,PAY-1,{'x' * 600 * 1024}\n"
    response = upload(client, big)
    assert response.status_code == 400 and "larger than 512 KB" in response.content.decode()
    monkeypatch.setattr(payout_files, "MAX_IMPORT_ROWS", 2)
    rows = "".join(f"{refund.pk},paid,PAY-{n},\n" for n in range(3))
    response = upload(client, "refund_id,status,reference,reason\n" + rows)
    assert response.status_code == 400 and "more than 2 rows" in response.content.decode()
    assert fresh(refund).status == "pending"


def test_the_exported_file_with_the_confirmation_columns_comes_back(client, finance):
    refund = make_refund()
    client.force_login(finance)
    rows = csv_rows(client.get(reverse("admin:claims_refund_export")))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*rows[0], "status", "reference", "reason"])
    writer.writerow([*rows[1], "paid", "PAYOUT-77", ""])
    response = upload(client, out.getvalue())
    assert texts(response) == ["1 applied, 0 already recorded, 0 refused."]
    assert fresh(refund).payment_reference == "PAYOUT-77" and fresh(refund).amount == Decimal("199.00")


def test_import_is_for_the_finance_team(client):
    refund = make_refund()
    for who in (make_console_agent(), make_plain_staff()):
        client.force_login(who)
        assert client.get(reverse("admin:claims_refund_import")).status_code == 403
        response = upload(client, f"refund_id,status,reference,reason\n{refund.pk},paid,PAY-1,\n")
        assert response.status_code == 403
    assert fresh(refund).status == "pending"


def test_a_superuser_works_the_queue_too(client):
    refund = make_refund()
    client.force_login(make_superuser())
    client.post(reverse("admin:claims_refund_pay"), {"ids": str(refund.pk), f"value-{refund.pk}": "PAY-1"})
    assert fresh(refund).status == "paid"


def test_the_admin_index_and_home_lead_the_finance_team_to_the_queue(client, finance):
    client.force_login(finance)
    assert client.get("/")["Location"] == reverse("admin:index")
    page = client.get(reverse("admin:index")).content.decode()
    assert reverse(CHANGELIST) in page and reverse("admin:claims_refund_import") in page
    assert reverse("admin:claims_claim_queue") not in page  # finance are not agents
    client.force_login(make_console_agent())
    assert reverse("admin:claims_refund_import") not in client.get(reverse("admin:index")).content.decode()
