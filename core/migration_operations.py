"""Migration operations of our own (used by migrations; keep them importable as long as those exist)."""

from __future__ import annotations

from typing import Any

from django.db import migrations
from django.db.migrations.state import ProjectState


class AlterStateOnly(migrations.SeparateDatabaseAndState):
    """Many changes that only the migration state sees and the database never does, such as verbose names and choices
    (issue 19: every model and field of the console translated, some 350 AlterField and AlterModelOptions).

    Django re-renders the changed model and its related models after each operation, about 0.1 s apiece: minutes
    for hundreds, on every test database. Here the operations change the state unrendered and it is rendered once at
    the end, as the migration executor expects to find it; the result is the same state."""

    def __init__(self, state_operations: list[Any]) -> None:
        super().__init__(state_operations=state_operations)

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return self.__class__.__qualname__, [], {"state_operations": self.state_operations}

    def state_forwards(self, app_label: str, state: ProjectState) -> None:
        rendered = state.__dict__.pop("apps", None) is not None  # ProjectState.apps is a cached property
        super().state_forwards(app_label, state)
        if rendered:
            state.apps  # noqa: B018 - rendered again, once

    def describe(self) -> str:
        return f"Alter the migration state only ({len(self.state_operations)} operations)"
