"""The deadline sweep's batch (issue 20): what the transitions of many claims write, gathered while they are acted on
and written at the batch's end in a few statements, inside the same transaction.

Inside `collecting()`, the services' shared steps change what they do:

- `claims.services._base._fire` and `_record` leave the claim unsaved and append their transition-log row here, unsaved;
  the sweep saves every claim it acted on and bulk-inserts the log rows at the end (`flush`);
- `claims.notifications.notify` appends the event, with a copy of the claim as it is at that moment (the facts of the
  event, for its emails and webhooks), and `flush` writes every notice's notifications, outbox rows and webhook events
  together, their bodies rendered later by the worker that sends them;
- `integrations.webhooks` reads the enabled endpoints once for all the batch's events (`endpoints_read_once`).

A transition-log row written in a batch exists in the database only at the batch's end, so code that runs inside the
sweep must not read a claim's log back from the database; the notification keys that name a log row (`key=log`) are
resolved once the rows have their ids.

Everything happens in the caller's transaction: a batch that fails rolls back whole, and the caller (the sweep) acts on
its claims again one at a time, each in a transaction of its own.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, cast

from django.db import connection, models

if TYPE_CHECKING:
    from .models import Claim, ClaimTransition


@dataclasses.dataclass
class Notice:
    """One call of `notify`: the claim as it was at the event, who is told, what makes it unique, and its context."""

    claim: Claim
    event: str
    to: Sequence[str]
    key: Any
    context: dict[str, Any] | None = None


@dataclasses.dataclass
class Batch:
    logs: list[ClaimTransition] = dataclasses.field(default_factory=list)
    notices: list[Notice] = dataclasses.field(default_factory=list)
    # claim pk -> (the claim, its field values when the batch took it): the sweep saves what changed.
    claims: dict[int, tuple[Claim, dict[str, Any]]] = dataclasses.field(default_factory=dict)
    email_ids: list[int] = dataclasses.field(default_factory=list)

    def take(self, claim: Claim) -> None:
        """A claim of the batch, locked: its values now, to save only what its actions change."""
        self.claims[claim.pk] = (claim, _values(claim))

    def flush(self, now: dt.datetime) -> None:
        """Write everything the batch's actions left: the claims' changed columns (one UPDATE per set of changed
        columns), the transition-log rows (one INSERT), then the notices (claims.notifications.write_notices)."""
        from .models import Claim, ClaimTransition
        from .notifications import write_notices

        groups: dict[tuple[str, ...], list[Claim]] = {}
        for claim, before in self.claims.values():
            changed = tuple(sorted(name for name, value in _values(claim).items() if before[name] != value))
            if changed:
                claim.updated_at = now
                groups.setdefault((*changed, "updated_at"), []).append(claim)
        for fields, claims in groups.items():
            _update(Claim, claims, fields)
        if self.logs:
            ClaimTransition.objects.bulk_create(self.logs)
        if self.notices:
            from integrations.webhooks import endpoints_read_once

            with endpoints_read_once():
                self.email_ids.extend(write_notices(self.notices))


@functools.cache
def _concrete(model: type[models.Model]) -> dict[str, str]:
    """attname -> field name, of the model's concrete columns but its id and `updated_at` (set by `flush`)."""
    return {field.attname: field.name for field in model._meta.concrete_fields
            if not field.primary_key and field.name != "updated_at"}


def _column(field: models.Field[Any, Any]) -> str:
    """A concrete field's column: only a field that is not concrete has none."""
    return cast(str, field.column)


def _values(claim: Claim) -> dict[str, Any]:
    return {attname: claim.__dict__.get(attname) for attname in _concrete(type(claim))}


def _update(model: type[models.Model], rows: Sequence[models.Model], attnames: Sequence[str]) -> None:
    """Save these columns of these rows in one statement. On PostgreSQL an UPDATE ... FROM (VALUES ...), whose cost is
    that of the rows; elsewhere Django's bulk_update (a CASE per column)."""
    names = _concrete(model)
    concrete = {field.name: field for field in model._meta.concrete_fields}
    fields = [concrete[names.get(attname, attname)] for attname in attnames]
    if connection.vendor != "postgresql":
        model._default_manager.bulk_update(rows, [field.name for field in fields])
        return
    quote = connection.ops.quote_name
    pk = model._meta.pk
    columns = [pk, *fields]
    row = "(" + ", ".join(f"%s::{column.db_type(connection)}" for column in columns) + ")"
    # Only the model's own table and column names, quoted, go into the statement; every value is a parameter.
    sql = (f"UPDATE {quote(model._meta.db_table)} AS t SET "  # noqa: S608
           + ", ".join(f"{quote(_column(field))} = v.{quote(_column(field))}" for field in fields)
           + f" FROM (VALUES {', '.join([row] * len(rows))}) AS v({', '.join(quote(_column(c)) for c in columns)})"
           + f" WHERE t.{quote(_column(pk))} = v.{quote(_column(pk))}")  # noqa: S608
    params = [column.get_db_prep_save(getattr(obj, column.attname), connection) for obj in rows for column in columns]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


_current: ContextVar[Batch | None] = ContextVar("claims_batch", default=None)


def current() -> Batch | None:
    """The batch being collected in this context, if any."""
    return _current.get()


@contextlib.contextmanager
def collecting() -> Iterator[Batch]:
    batch = Batch()
    token = _current.set(batch)
    try:
        yield batch
    finally:
        _current.reset(token)
