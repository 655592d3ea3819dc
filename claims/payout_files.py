"""The payout queue's files (manual provider): the CSV of payouts for whoever sends the money, and the CSV of
confirmations that comes back.

Export columns: refund_id, claim, order, payment_method, payment_reference, card_last4, amount, currency (the
amount a plain decimal with two places; the payment reference is the order's, so the money goes back the way it
came). Import columns: refund_id, status (paid | failed), reference (the provider's, for paid), reason (for failed);
other columns are ignored, so an exported file with these four added comes back as it is. A confirmation file is
judged by its content (UTF-8 text the csv module reads, within a size and row limit), never by its name; each row is
checked and applied on its own through claims.services.mark_refund_paid / mark_refund_failed, which change nothing
when a row was already applied (same reference, same reason): importing a file twice is harmless.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Iterable, Iterator
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from core.formatting import csv_text

from .choices import RefundStatus
from .models import Refund
from .services import mark_refund_failed, mark_refund_paid
from .services.payouts import MANUAL

EXPORT_COLUMNS = ["refund_id", "claim", "order", "payment_method", "payment_reference", "card_last4", "amount",
                  "currency"]
IMPORT_COLUMNS = ["refund_id", "status", "reference", "reason"]
MAX_IMPORT_BYTES = 512 * 1024
MAX_IMPORT_ROWS = 1000  # each row is a service call with its email: a file is applied within a request
REFERENCE_LIMIT = 100
REASON_LIMIT = 500


def manual_payouts() -> Q:
    """Refunds the finance team pays by hand: the manual provider (a refund made before providers were recorded
    follows the setting). Pending webhook refunds are the worker's: paying them by hand too would pay twice."""
    condition = Q(provider=MANUAL)
    if settings.REFUND_PROVIDER == MANUAL:
        condition |= Q(provider="")
    return condition


def payable(queryset: QuerySet[Refund]) -> QuerySet[Refund]:
    """What is waiting to be paid by hand: pending refunds of the manual provider."""
    return queryset.filter(manual_payouts(), status=RefundStatus.PENDING)


# --- export ------------------------------------------------------------------------------------------------


class _Echo:
    def write(self, value: str) -> str:
        return value


def export_rows(refunds: Iterable[Refund]) -> Iterator[str]:
    """The CSV, line by line (for a streaming response). `refunds` come with claim__order selected."""
    writer = csv.writer(_Echo())
    yield writer.writerow(EXPORT_COLUMNS)
    for refund in refunds:
        order = refund.claim.order
        yield writer.writerow([
            refund.pk, refund.claim.number, csv_text(order.number), order.payment_method,
            csv_text(order.payment_reference), csv_text(order.card_last4), f"{refund.amount:.2f}", refund.currency,
        ])


# --- import ------------------------------------------------------------------------------------------------


class FileRefused(Exception):  # noqa: N818 - a refusal with the sentence to show, not a programming error
    """The whole file is refused (not text, too large, wrong columns); nothing was applied."""


@dataclasses.dataclass
class Confirmation:
    line: int
    raw_id: str
    status: str
    reference: str
    reason: str
    refund_id: int | None = None
    error: str = ""
    outcome: str = ""  # applied | unchanged | refused
    message: str = ""

    @property
    def value(self) -> str:
        return self.reference if self.status == RefundStatus.PAID else self.reason


def _dialect(first_line: str) -> type[csv.Dialect] | csv.Dialect:
    # Spreadsheets set to German write semicolons; the header line says which it is.
    try:
        return csv.Sniffer().sniff(first_line, delimiters=",;\t")
    except csv.Error:
        return csv.excel


def parse_confirmations(data: bytes) -> list[Confirmation]:
    """Read and check a confirmation file. Refuses the whole file (FileRefused) when it is not a CSV of the right
    shape; otherwise every row comes back, each with its own error if it has one."""
    if len(data) > MAX_IMPORT_BYTES:
        raise FileRefused(_("The file is larger than %(size)d KB; split it into smaller files.")
                          % {"size": MAX_IMPORT_BYTES // 1024})
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileRefused(_("The file is not UTF-8 text. Save it as “CSV UTF-8” and upload it again.")) from exc
    if "\x00" in text:
        raise FileRefused(_("The file is not a text CSV file."))
    if not text.strip():
        raise FileRefused(_("The file is empty."))
    reader = csv.reader(io.StringIO(text, newline=""), _dialect(text.splitlines()[0][:1000]))
    try:
        header = [name.strip().lower() for name in next(reader)]
        missing = [name for name in IMPORT_COLUMNS if name not in header]
        if missing:
            raise FileRefused(_("The first line must name the columns %(columns)s; missing: %(missing)s.")
                              % {"columns": ", ".join(IMPORT_COLUMNS), "missing": ", ".join(missing)})
        where = {name: header.index(name) for name in IMPORT_COLUMNS}
        rows: list[Confirmation] = []
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) >= MAX_IMPORT_ROWS:
                raise FileRefused(_("The file has more than %(rows)d rows; split it into smaller files.")
                                  % {"rows": MAX_IMPORT_ROWS})
            value = {name: (cells[i].strip() if i < len(cells) else "") for name, i in where.items()}
            rows.append(Confirmation(line=reader.line_num, raw_id=value["refund_id"],
                                     status=value["status"].lower(), reference=value["reference"],
                                     reason=value["reason"]))
    except csv.Error as exc:
        raise FileRefused(_("The file is not a CSV file the import can read (line %(line)d).")
                          % {"line": reader.line_num}) from exc
    if not rows:
        raise FileRefused(_("The file has no rows under its first line."))
    _check_rows(rows)
    return rows


def _check_rows(rows: list[Confirmation]) -> None:
    first_line: dict[int, int] = {}
    for row in rows:
        row.error = _row_error(row, first_line)
    known = set(Refund.objects.filter(pk__in=[r.refund_id for r in rows if not r.error])
                .values_list("pk", flat=True))
    for row in rows:
        if not row.error and row.refund_id not in known:
            row.error = _("There is no refund %(id)s.") % {"id": row.refund_id}


def _row_error(row: Confirmation, first_line: dict[int, int]) -> str:
    if not row.raw_id.isdigit() or int(row.raw_id) == 0 or len(row.raw_id) > 12:
        return _("“%(value)s” is not a refund id.") % {"value": row.raw_id[:40]}
    row.refund_id = int(row.raw_id)
    if row.status not in (RefundStatus.PAID, RefundStatus.FAILED):
        return _("The status must be “paid” or “failed”, not “%(value)s”.") % {"value": row.status[:40]}
    if row.status == RefundStatus.PAID and not row.reference:
        return _("A paid refund needs the payment provider's reference.")
    if row.status == RefundStatus.PAID and len(row.reference) > REFERENCE_LIMIT:
        return _("The reference is longer than %(max)d characters.") % {"max": REFERENCE_LIMIT}
    if row.status == RefundStatus.FAILED and not row.reason:
        return _("A failed refund needs the reason it failed.")
    if row.status == RefundStatus.FAILED and len(row.reason) > REASON_LIMIT:
        return _("The reason is longer than %(max)d characters.") % {"max": REASON_LIMIT}
    if row.refund_id in first_line:
        return _("Refund %(id)s is already on line %(line)d of this file.") % {"id": row.refund_id,
                                                                               "line": first_line[row.refund_id]}
    first_line[row.refund_id] = row.line
    return ""


def already_so(refund: Refund, status: str, value: str) -> bool:
    """The refund already is what the row says (a repeated confirmation): the services would change nothing."""
    if status == RefundStatus.PAID:
        return refund.status == RefundStatus.PAID and refund.payment_reference == value
    return refund.status == RefundStatus.FAILED and refund.failure_reason == value


def apply_confirmations(rows: list[Confirmation], *, by: Any) -> list[tuple[Confirmation, Refund]]:
    """Apply each checked row through the services, each in its own transaction: a refused row changes nothing
    and stops nothing else. Fills in each row's outcome; returns the rows that changed a refund, with it."""
    refunds = {r.pk: r for r in Refund.objects.filter(pk__in=[row.refund_id for row in rows if not row.error])}
    changed = []
    for row in rows:
        if row.error:
            row.outcome, row.message = "refused", row.error
            continue
        refund = refunds[cast(int, row.refund_id)]  # a row without an error has its refund's id
        if already_so(refund, row.status, row.value):
            row.outcome, row.message = "unchanged", _("Already recorded; nothing changed.")
            continue
        try:
            if row.status == RefundStatus.PAID:
                refund = mark_refund_paid(refund=refund, reference=row.reference, by=by)
                row.message = _("Marked paid with reference %(reference)s.") % {"reference": row.reference}
            else:
                refund = mark_refund_failed(refund=refund, reason=row.reason, by=by)
                row.message = _("Marked failed: %(reason)s") % {"reason": row.reason}
        except ValidationError as error:
            row.outcome, row.message = "refused", " ".join(error.messages)
            continue
        row.outcome = "applied"
        refunds[refund.pk] = refund
        changed.append((row, refund))
    return changed
