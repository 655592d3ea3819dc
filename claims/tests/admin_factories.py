"""People of the support console: agents are made through the "agents" group (claims migration 0005), exactly as
the demo and production set them up."""

from __future__ import annotations

import importlib
import types

from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import connection

from sellers.tests.factories import UserFactory

AGENTS_GROUP = "agents"
FINANCE_GROUP = "finance"


def agents_group() -> Group:
    group = Group.objects.filter(name=AGENTS_GROUP).first()
    if group is None:  # a transactional test flushed what the migration wrote: write it again, the same way
        migration = importlib.import_module("claims.migrations.0005_agents_group")
        migration.create_agents_group(django_apps, None)
        # ... and what later migrations added to it (macros and surveys, markets, lockouts and erasure requests).
        editor = types.SimpleNamespace(connection=connection)
        for later in ("claims.migrations.0013_agents_macros_and_satisfaction",
                      "markets.migrations.0003_agents_view_markets",
                      "accounts.migrations.0002_usernames_and_console_permissions"):
            importlib.import_module(later).grant(django_apps, editor)
        group = Group.objects.get(name=AGENTS_GROUP)
    return group


def make_console_agent(**kwargs):  # type: ignore[no-untyped-def]
    """A support agent as the console knows them: staff in the agents group."""
    user = UserFactory(is_staff=True, **kwargs)
    user.groups.add(agents_group())
    return get_user_model().objects.get(pk=user.pk)  # fresh instance: no stale permission cache


def finance_group() -> Group:
    group = Group.objects.filter(name=FINANCE_GROUP).first()
    if group is None:  # a transactional test flushed what the migration wrote: write it again, the same way
        migration = importlib.import_module("claims.migrations.0008_refund_lines_and_finance_group")
        group, _created = Group.objects.get_or_create(name=FINANCE_GROUP)
        group.permissions.set([Permission.objects.get(content_type__app_label=label, codename=codename)
                               for label, codename in migration.PERMISSIONS])
    return group


def make_finance(**kwargs):  # type: ignore[no-untyped-def]
    """A member of the finance team: staff in the finance group (payout queue, seller settlements)."""
    user = UserFactory(is_staff=True, **kwargs)
    user.groups.add(finance_group())
    return get_user_model().objects.get(pk=user.pk)  # fresh instance: no stale permission cache


def make_plain_staff(**kwargs):  # type: ignore[no-untyped-def]
    """Staff (may log in to the admin) without the agents group."""
    return UserFactory(is_staff=True, **kwargs)


def make_superuser(**kwargs):  # type: ignore[no-untyped-def]
    return UserFactory(is_staff=True, is_superuser=True, **kwargs)


def page_queries(client, url: str) -> int:  # type: ignore[no-untyped-def]
    """How many queries one GET of a console page costs (it must answer 200)."""
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)
