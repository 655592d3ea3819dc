"""Accounts keep one spelling of their username (core.usernames), whoever makes them: the console, a command, the
shop's API or the demo."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models.signals import pre_save
from django.dispatch import receiver

from core.usernames import normalize_username


@receiver(pre_save, sender=get_user_model(), dispatch_uid="accounts.normalize_username")
def _normalize_username(sender: Any, instance: Any, **kwargs: Any) -> None:
    instance.username = normalize_username(instance.username)
