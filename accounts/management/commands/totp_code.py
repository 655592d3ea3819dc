"""`manage.py totp_code USERNAME`: the code the person's authenticator app shows now (issue 18), for the demo logins
(admin, agent and finance have a documented demo secret) and for operators trying a set-up out. It reads the secret
from the database, so whoever may run it could read the secret anyway."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts import two_factor
from core.usernames import normalize_username


class Command(BaseCommand):
    help = "Print the current two-factor code of USERNAME's authenticator app (the demo logins, trying a set-up out)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        user = user_model._default_manager.filter(
            **{user_model.USERNAME_FIELD: normalize_username(options["username"])}).first()
        if user is None:
            raise CommandError(f"No account with the username {options['username']!r}.")
        device = two_factor.app_device(user)
        if device is None:
            raise CommandError(f"{user.get_username()} has no confirmed authenticator app: two-factor authentication "
                               "is off, or its set-up was not confirmed. Nothing to print.")
        code, valid_for, used = two_factor.current_code(device)
        self.stdout.write(code)
        if used:
            self.stderr.write(f"This code was already used for a login; the next one comes in {valid_for} s.")
        elif options["verbosity"] > 1:
            self.stderr.write(f"Valid for another {valid_for} s.")
