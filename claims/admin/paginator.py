from __future__ import annotations

from django.core.paginator import Paginator
from django.db import connection
from django.db.models import QuerySet
from django.utils.functional import cached_property

ESTIMATE_ABOVE = 100_000


class EstimatedCountPaginator(Paginator):
    """Counting a million claims for the page numbers costs more than the page itself. Unfiltered, on
    PostgreSQL, the planner's row estimate is used once the table is large; filtered lists count exactly."""

    @cached_property
    def count(self) -> int:
        rows = self.object_list
        if connection.vendor == "postgresql" and isinstance(rows, QuerySet) and not rows.query.where:
            with connection.cursor() as cursor:
                cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s",
                               [rows.model._meta.db_table])
                row = cursor.fetchone()
            if row and row[0] > ESTIMATE_ABOVE:
                return int(row[0])
        return super().count
