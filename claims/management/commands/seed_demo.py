"""`manage.py seed_demo`: demo logins, sellers, orders and claims in every state (claims.demo).

Idempotent: when the demo data is already there it changes nothing and prints the logins again. All demo
accounts share the password ``demo-pass-123``.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from claims.choices import ClaimState
from claims.models import Claim

DEV_DEPENDENCIES = {"factory", "time_machine"}


class Command(BaseCommand):
    help = ("Create demo logins, sellers, orders and claims in every state (through the services). "
            "Safe to run again: an existing demo is left as it is. All passwords: demo-pass-123")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            from claims import demo
        except ModuleNotFoundError as exc:
            if exc.name not in DEV_DEPENDENCIES:
                raise
            raise CommandError(
                "seed_demo builds the demo with the test factories under a controlled clock, so it needs the "
                "development dependencies factory-boy and time-machine: pip install -e '.[dev]' (make run "
                "installs them).") from exc
        if demo.already_seeded():
            # Two factors came later (issue 18): the console logins of an earlier demo get their demo app.
            given = demo.demo_apps_for_earlier_demos()
            self.stdout.write(self.style.WARNING(
                "Demo data is already present; " + (f"only gave {', '.join(given)} the demo authenticator app."
                                                    if given else "nothing was changed.")))
            self._print_logins(demo)
            return
        # One log line per transition is noise here; `-v 2` shows them.
        services_log = logging.getLogger("claims.services")
        level = services_log.level
        if options["verbosity"] < 2:
            services_log.setLevel(logging.WARNING)
        try:
            seeded = demo.seed()
        finally:
            services_log.setLevel(level)
        self.stdout.write(self.style.SUCCESS(
            f"Demo data created: {len(seeded.orders)} orders, {len(seeded.claims)} claims."))
        counts = {state: Claim.objects.filter(state=state).count() for state in ClaimState.values}
        self.stdout.write("Claims by state: " + ", ".join(f"{state} {n}" for state, n in counts.items()))
        self._print_logins(demo, kept=seeded.kept_passwords)

    def _print_logins(self, demo: Any, kept: set[str] | None = None) -> None:
        kept = kept or set()
        rows = [("username", "password", "role", "what to look at")]
        for login in demo.LOGINS:
            password = "(unchanged: account existed)" if login.username in kept else demo.DEMO_PASSWORD
            rows.append((login.username, password, login.role, login.look_at))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        rule = "+".join("-" * (w + 2) for w in widths)
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password for all: {demo.DEMO_PASSWORD}); log in at /admin/ or on the site:")
        self.stdout.write("+" + rule + "+")
        for index, row in enumerate(rows):
            self.stdout.write("| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |")
            if index == 0:
                self.stdout.write("+" + rule + "+")
        self.stdout.write("+" + rule + "+")
        secret = " ".join(demo.DEMO_TOTP_SECRET[i:i + 4] for i in range(0, len(demo.DEMO_TOTP_SECRET), 4))
        self.stdout.write(
            f"{', '.join(demo.TWO_FACTOR_LOGINS)} also enter a code from an authenticator app after the password (two "
            f"factors, required for the console). Add the demo key {secret} to any authenticator app, or print the "
            f"current code with: python manage.py totp_code {demo.TWO_FACTOR_LOGINS[1]}")
