"""Model bases every app may use."""

from __future__ import annotations

from django.db import models


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):  # type: ignore[no-untyped-def]
        raise TypeError(f"{self.model.__name__} rows are append-only; add a correcting row instead.")

    def delete(self):  # type: ignore[no-untyped-def]
        raise TypeError(f"{self.model.__name__} rows are append-only; add a correcting row instead.")


class AppendOnlyModel(models.Model):
    """Rows are written once. Corrections are new rows, never edits."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not self._state.adding:
            raise TypeError(f"{type(self).__name__} rows are append-only; add a correcting row instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise TypeError(f"{type(self).__name__} rows are append-only; add a correcting row instead.")
