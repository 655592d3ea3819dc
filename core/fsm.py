"""django-fsm-2's `transition` decorator, typed for the model whose method it decorates.

django-fsm-2 types `conditions=` and `permission=` as callables of any Model, so a condition or a permission that
reads its own model's fields (all of ours do) is a type error there, and a decorated method loses its signature.
Here they take that model and the method keeps its signature; at run time this is django-fsm-2's own decorator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any, TypeVar

    from django.db import models
    from django_fsm import ANY_STATE, FSMFieldMixin, State

    _M = TypeVar("_M", bound=models.Model)
    _F = TypeVar("_F", bound=Callable[..., Any])
    _StateValue = str | int | models.Choices

    def transition(field: FSMFieldMixin | str, source: _StateValue | Sequence[_StateValue] = ANY_STATE,
                   target: _StateValue | State | None = None, on_error: _StateValue | None = None,
                   conditions: Sequence[Callable[[_M], bool]] | None = None,
                   permission: str | Callable[[_M, Any], bool] | None = None,
                   custom: dict[str, Any] | None = None) -> Callable[[_F], _F]: ...
else:
    from django_fsm import transition as transition
