"""`make cluster-test`: the production set-up on one machine, under load and with processes dying.

Starts, with production settings, on a fresh PostgreSQL database (created and dropped here) and a Redis database of
its own (emptied first): two gunicorn instances, two Celery workers, one beat, and an SMTP server in this process that
records every message. Then, over HTTP, using the two web instances alternately:

1. a buyer opens a claim with a photo, the seller replies and rejects it with evidence, the buyer escalates, and an
   agent (password, then a TOTP code) decides it in the console;
2. 20 buyers open 200 claims; meanwhile one worker is killed with SIGKILL and started again, beat is stopped (SIGTERM)
   and started again, and deadlines are moved into the past in the database (first replies; later the resolution
   deadlines of claims the sellers answered) so that beat's sweep acts on them;
3. an eleventh claim of one buyer within the hour is refused (429): the rate limit is shared by both instances.

Then it waits (at most WAIT_SECONDS) for the outbox to be sent and no deadline to be due, and checks that every email
the outbox marked sent reached the SMTP server exactly once (by its Message-ID), that every deadline made due was
acted on exactly once (the transition log) and that no request got a 5xx; an email the server took just as its
worker was killed, sent again with the same Message-ID, is a note (a failure with --strict-once: `check_emails`). It
prints a summary and exits 1 on any failure. Processes, database, Redis database and temporary files are cleaned up
whatever happens (the logs are kept when it fails).

Not a pytest module (no test_ name): `python tests/cluster/run.py [--claims N] [--keep] [--strict-once]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import io
import itertools
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from email import message_from_bytes
from email import policy as email_policy
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PG_SERVER = os.environ.get("CLUSTER_PG_SERVER", "postgres://postgres@127.0.0.1:5432")
# A Redis database of its own (the test suite uses 14 and 15, the benchmarks 13): emptied at start and at the end.
REDIS_URL = os.environ.get("CLUSTER_REDIS_URL", "redis://127.0.0.1:6379/12")
PASSWORD = "cluster-pass-4711"  # noqa: S105 - throwaway accounts of a throwaway database
TOTP_KEY = "3132333435363738393031323334353637383930"  # RFC 6238's test key, hex as django-otp keeps it
BUYERS = 20  # each opens CLAIMS // BUYERS claims: exactly OPEN_CLAIM_RATE_LIMIT (10) with the defaults
SELLERS = 4
CLIENT_THREADS = 8
WAIT_SECONDS = 120
REPLIED = 20  # claims the sellers answer, whose resolution deadline is then made due
SMTP_DELAY = 0.25  # seconds the SMTP server takes before it accepts a message
# A message accepted at most this long before a SIGKILL may not have been marked sent by the killed worker.
KILL_WINDOW = 2.0


BEGAN = time.monotonic()
BEGAN_WALL = time.time()


def log(message: str) -> None:
    print(f"[{time.monotonic() - BEGAN:5.1f} s] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tiny_jpeg() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, format="JPEG")
    return buffer.getvalue()


class Failure(Exception):
    pass


# --- the SMTP server ------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Received:
    message_id: str
    to: tuple[str, ...]
    subject: str
    began: float  # time.time() when the server had the whole message (the end of DATA)
    at: float  # time.time() when it accepted it (250)


class Mailbox:
    """aiosmtpd's handler: every message accepted, as it arrived.

    Like a real server it takes a moment before it accepts a message (SMTP_DELAY), so that a worker killed at a random
    moment is likely to be in the middle of a conversation; and like a real server it keeps a message only when it
    answers 250: a client gone before that (aiosmtpd cancels the handler) delivered nothing."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[Received] = []
        self.in_flight = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        began = time.time()
        with self.lock:
            self.in_flight += 1
        try:
            await asyncio.sleep(SMTP_DELAY)
            message = message_from_bytes(envelope.original_content or envelope.content, policy=email_policy.default)
            with self.lock:
                self.messages.append(Received(message_id=str(message["Message-ID"] or "").strip(),
                                              to=tuple(address.lower() for address in envelope.rcpt_tos),
                                              subject=str(message["Subject"] or ""), began=began,
                                              at=time.time()))
            return "250 Message accepted for delivery"
        finally:
            with self.lock:
                self.in_flight -= 1

    def busy(self, conversations: int, seconds: float) -> bool:
        """Wait (at most `seconds`) until this many messages are being handed over at once."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with self.lock:
                if self.in_flight >= conversations:
                    return True
            time.sleep(0.01)
        return False

    def snapshot(self) -> list[Received]:
        with self.lock:
            return list(self.messages)


# --- the processes --------------------------------------------------------------------------------------------------


class Processes:
    """The cluster's processes, each in a session of its own (so SIGKILL reaches a worker's pool too), each logging to
    a file of its own."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self.starts: Counter[str] = Counter()
        self.kills: list[float] = []  # time.time() of each SIGKILL

    def start(self, name: str, *command: str, **extra_env: str) -> None:
        self.starts[name] += 1
        out = open(self.logs / f"{name}.{self.starts[name]}.log", "wb")
        self.running[name] = subprocess.Popen(  # noqa: S603 - our own programs, fixed arguments
            command, cwd=ROOT, env={**self.env, **extra_env}, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
        out.close()  # the child has its own descriptor

    def kill(self, name: str) -> None:
        """SIGKILL to the process and its children: a machine lost, nothing cleaned up."""
        process = self.running.pop(name)
        self.kills.append(time.time())
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop(self, name: str, timeout: float = 20.0) -> int | None:
        """SIGTERM to the main process only (as systemd's KillMode=mixed), then SIGKILL to all after `timeout`."""
        process = self.running.pop(name)
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return None

    def stop_all(self, timeout: float = 15.0) -> None:
        """Everything at once: SIGTERM to each, then SIGKILL to whatever still runs after `timeout`."""
        for process in self.running.values():
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in self.running.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.running.clear()

    def exited(self) -> dict[str, int]:
        return {name: code for name, process in self.running.items() if (code := process.poll()) is not None}


# --- HTTP -------------------------------------------------------------------------------------------------------------


class Web:
    """The two web instances, used in turn; every answer's status counted per instance."""

    def __init__(self, ports: list[int]) -> None:
        self.bases = [f"http://127.0.0.1:{port}" for port in ports]
        self.turn = itertools.count()
        self.lock = threading.Lock()
        self.statuses: dict[str, Counter[int]] = {base: Counter() for base in self.bases}
        self.server_errors: list[str] = []

    def next_base(self) -> str:
        with self.lock:
            return self.bases[next(self.turn) % len(self.bases)]

    def record(self, base: str, method: str, path: str, status: int, request_id: str) -> None:
        with self.lock:
            self.statuses[base][status] += 1
            if status >= 500:
                self.server_errors.append(f"{method} {base}{path} -> {status} (X-Request-ID {request_id})")


class Browser:
    """One person's browser. Cookies are kept here, not by httpx: production's cookies are Secure, and the cluster
    speaks plain HTTP on the loopback (DJANGO_SECURE_SSL_REDIRECT=false), where a real browser would not send them."""

    def __init__(self, web: Web, name: str) -> None:
        self.web = web
        self.name = name
        self.cookies: dict[str, str] = {}
        self.client = httpx.Client(follow_redirects=False, timeout=60.0)

    def request(self, method: str, path: str, *, data: dict[str, Any] | None = None,
                files: dict[str, tuple[str, bytes, str]] | None = None, expect: tuple[int, ...] = (200,),
                base: str | None = None) -> httpx.Response:
        base = base or self.web.next_base()
        headers = {"Cookie": "; ".join(f"{key}={value}" for key, value in self.cookies.items())}
        if method == "POST":
            data = {**(data or {}), "csrfmiddlewaretoken": self.cookies.get("csrftoken", "")}
            headers["Referer"] = base + path
        try:
            response = self.client.request(method, base + path, data=data, files=files, headers=headers)
        except httpx.HTTPError as error:
            self.web.record(base, method, path, 599, "-")
            raise Failure(f"{self.name}: {method} {base}{path} failed: {error!r}") from error
        self.client.cookies.clear()
        for header in response.headers.get_list("set-cookie"):
            for key, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(key, None)
                else:
                    self.cookies[key] = morsel.value
        self.web.record(base, method, path, response.status_code, response.headers.get("x-request-id", "-"))
        if response.status_code not in expect:
            raise Failure(f"{self.name}: {method} {base}{path} answered {response.status_code}, expected {expect}"
                          f" (X-Request-ID {response.headers.get('x-request-id', '-')})")
        return response

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, data: dict[str, Any], **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, data=data, expect=kwargs.pop("expect", (302,)), **kwargs)

    def login(self, username: str) -> None:
        self.get("/accounts/login/")
        response = self.post("/accounts/login/", {"username": username, "password": PASSWORD})
        if "sessionid" not in self.cookies:
            raise Failure(f"{self.name}: the login of {username} set no session ({response.headers.get('location')})")

    def close(self) -> None:
        self.client.close()


def location(response: httpx.Response) -> str:
    return httpx.URL(response.headers["location"]).path


def claim_number(response: httpx.Response) -> str:
    match = re.fullmatch(r"/claims/([^/]+)/", location(response))
    if not match:
        raise Failure(f"opening a claim went to {location(response)}, not to a claim")
    return match.group(1)


# --- the world ----------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class World:
    agent: str
    journey_buyer: str
    journey_order: tuple[str, int]  # order number, item id
    journey_staff: str
    buyers: dict[str, list[tuple[str, int]]]  # each buyer's orders to open claims on
    extra_order: tuple[str, str, int]  # a buyer's eleventh order: buyer, order number, item id
    staff_of_seller: dict[int, str]


def seed(claims: int) -> World:
    """People, sellers and delivered orders, written with the ORM in this process (the factories of the tests)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.utils import timezone
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from orders.tests.factories import OrderFactory, OrderItemFactory, ShipmentFactory
    from sellers.models import SellerMembership
    from sellers.tests.factories import SellerFactory

    user_model = get_user_model()
    hashed = make_password(PASSWORD)  # once: production's hasher takes a good part of a second per password

    def person(username: str, **fields: Any) -> Any:
        return user_model.objects.create(username=username, email=f"{username}@cluster.example", password=hashed,
                                         **fields)

    now = timezone.now()
    delivered = now - dt.timedelta(days=3)

    def order(buyer: Any, seller: Any) -> tuple[str, int]:
        made = OrderFactory(buyer=buyer, seller=seller, placed_at=now - dt.timedelta(days=7),
                            ship_by=(now - dt.timedelta(days=6)).date(), estimated_delivery=delivered.date())
        item = OrderItemFactory(order=made)
        ShipmentFactory(order=made, shipped_at=now - dt.timedelta(days=6), confirmed_at=now - dt.timedelta(days=6),
                        delivered_at=delivered, delivered_to_order_address=True)
        return made.number, item.pk

    agent = person("agent", is_staff=True, first_name="Ada", last_name="Agent")
    agent.groups.add(Group.objects.get(name="agents"))  # written by claims' migrations, as in production
    TOTPDevice.objects.create(user=agent, name="cluster authenticator", key=TOTP_KEY, confirmed=True)

    sellers = [SellerFactory() for _ in range(SELLERS)]
    staff_of_seller = {}
    for number, seller in enumerate(sellers):
        staff = person(f"staff{number}")
        SellerMembership.objects.create(user=staff, seller=seller, role="owner")
        staff_of_seller[seller.pk] = staff.username
    journey_buyer = person("journey-buyer")
    journey_order = order(journey_buyer, sellers[0])
    buyers: dict[str, list[tuple[str, int]]] = {}
    per_buyer = max(1, claims // BUYERS)
    for b in range(BUYERS):
        buyer = person(f"buyer{b}")
        buyers[buyer.username] = [order(buyer, sellers[(b + i) % SELLERS]) for i in range(per_buyer)]
    first = next(iter(buyers))
    extra = order(user_model.objects.get(username=first), sellers[0])
    return World(agent=agent.username, journey_buyer=journey_buyer.username, journey_order=journey_order,
                 journey_staff=staff_of_seller[sellers[0].pk], buyers=buyers, extra_order=(first, *extra),
                 staff_of_seller=staff_of_seller)


# --- what the run does ---------------------------------------------------------------------------------------------


def totp_code() -> str:
    from django_otp.oath import TOTP

    totp = TOTP(bytes.fromhex(TOTP_KEY), step=30, t0=0, digits=6, drift=0)
    totp.time = time.time()
    return f"{totp.token():06d}"


def claim_state(number: str) -> tuple[str, str, list[str]]:
    from claims.models import Claim, ClaimTransition

    claim = Claim.objects.get(number=number)
    names = list(ClaimTransition.objects.filter(claim=claim).order_by("created_at", "id")
                 .values_list("name", flat=True))
    return claim.state, claim.outcome, names


def journey(web: Web, world: World, photo: bytes) -> str:
    """Buyer, seller and agent through the pages, each step on the other instance than the one before."""
    buyer, seller, agent = Browser(web, "buyer"), Browser(web, "seller"), Browser(web, "agent")
    try:
        order, item = world.journey_order
        buyer.login(world.journey_buyer)
        buyer.get("/orders/")
        buyer.get(f"/orders/{order}/")
        buyer.get(f"/orders/{order}/help/")
        opened = buyer.post(f"/orders/{order}/help/", {
            "items": str(item), "reason": "not_as_described", "desired_outcome": "refund",
            "description": "The colour is not the one in the listing, and the case is scratched."},
            files={"photos": ("case.jpg", photo, "image/jpeg")})
        number = claim_number(opened)
        buyer.get(location(opened))

        seller.login(world.journey_staff)
        seller.get("/seller/")
        seller.get(f"/seller/claims/{number}/")
        seller.post(f"/seller/claims/{number}/reply/", {"reply-body": "Thank you, we are looking into it."})
        seller.post(f"/seller/claims/{number}/reject/",
                    {"reject-code": "as_described", "reject-body": "The listing shows this colour; see the photo."},
                    files={"reject-evidence": ("listing.jpg", photo, "image/jpeg")})

        buyer.get(f"/claims/{number}/")
        buyer.post(f"/claims/{number}/escalate/", {"reason": "The seller does not answer my point."})

        agent.login(world.agent)
        refused = agent.get("/admin/", expect=(302,))  # the second factor first
        verify = location(refused)
        if not verify.startswith("/account/two-factor/verify/"):
            raise Failure(f"agent: the console sent to {verify}, not to the second factor")
        agent.get(str(refused.headers["location"]))
        agent.post(str(refused.headers["location"]), {"code": totp_code()})
        agent.get("/admin/")
        from claims.models import Claim

        pk = Claim.objects.get(number=number).pk
        agent.get(f"/admin/claims/claim/{pk}/change/")
        decide = f"/admin/claims/claim/{pk}/act/decide/"
        agent.get(decide)
        agent.post(decide, {"outcome": "refund", "funded_by": "seller", "note": "Refunded: see the photos."})
        buyer.get(f"/claims/{number}/")
        seller.get(f"/seller/claims/{number}/")
    finally:
        for browser in (buyer, seller, agent):
            browser.close()
    state, outcome, names = claim_state(number)
    wanted = ["reply", "reject", "escalate", "decide"]
    if (state, outcome) != ("resolved", "refund") or [n for n in names if n in wanted] != wanted:
        raise Failure(f"journey: claim {number} ended {state}/{outcome or '-'} with the steps {names}")
    return number


class Load:
    """Buyers opening claims on both instances at once; the numbers opened, in the order they were opened."""

    def __init__(self, web: Web, world: World, photo: bytes) -> None:
        self.web = web
        self.world = world
        self.photo = photo
        self.lock = threading.Lock()
        self.opened: list[str] = []
        self.errors: list[str] = []

    def count(self) -> int:
        with self.lock:
            return len(self.opened)

    def buyer(self, username: str, orders: list[tuple[str, int]]) -> None:
        browser = Browser(self.web, username)
        try:
            browser.login(username)
            for index, (order, item) in enumerate(orders):
                data: dict[str, Any] = {"items": str(item), "desired_outcome": "refund",
                                        "description": f"Claim {index} of {username}: not what I expected."}
                files = None
                if index % 2:  # half with a photo (multipart, the evidence pipeline), half without
                    data["reason"] = "not_as_described"
                    files = {"photos": ("item.jpg", self.photo, "image/jpeg")}
                else:
                    data["reason"] = "trial_return"
                opened = browser.post(f"/orders/{order}/help/", data, files=files)
                number = claim_number(opened)
                with self.lock:
                    self.opened.append(number)
                browser.get(location(opened))
        except Failure as failure:
            with self.lock:
                self.errors.append(str(failure))
        finally:
            browser.close()


def make_due(numbers: list[str], field: str, state: str) -> list[int]:
    """Move one deadline of these claims into the past, as time would, and store their next deadline again (the
    column beat's sweep reads). Each claim locked, as a service would; the ids of those moved."""
    from django.db import transaction
    from django.utils import timezone

    from claims.models import Claim

    past = timezone.now() - dt.timedelta(minutes=1)
    moved = []
    with transaction.atomic():
        for claim in Claim.objects.select_for_update().filter(number__in=numbers, state=state).order_by("pk"):
            setattr(claim, field, past)
            claim.refresh_next_deadline()
            claim.save(update_fields=[field, "next_deadline_at", "action_due_at", "updated_at"])
            moved.append(claim.pk)
    return moved


def sellers_answer(web: Web, world: World, numbers: list[str]) -> None:
    """Each seller's staff answers its claims among `numbers` (the first reply), sellers at once."""
    from claims.models import Claim

    by_staff: dict[str, list[str]] = defaultdict(list)
    for number, seller in Claim.objects.filter(number__in=numbers).values_list("number", "seller_id"):
        by_staff[world.staff_of_seller[seller]].append(number)

    def answer(username: str, claims: list[str]) -> None:
        browser = Browser(web, username)
        try:
            browser.login(username)
            for number in claims:
                browser.get(f"/seller/claims/{number}/")
                browser.post(f"/seller/claims/{number}/reply/", {"reply-body": "We will send a replacement."})
        finally:
            browser.close()

    with ThreadPoolExecutor(max_workers=len(by_staff) or 1) as pool:
        for future in [pool.submit(answer, username, claims) for username, claims in by_staff.items()]:
            future.result()


# --- waiting and checking -------------------------------------------------------------------------------------------


def outbox_waiting() -> tuple[int, int]:
    """Rows the workers still have to send now, and rows waiting for a later moment (a digest's window)."""
    from django.db.models import Q
    from django.utils import timezone

    from claims.models import OutboundEmail

    now = timezone.now()
    unsent = OutboundEmail.objects.filter(sent_at__isnull=True)
    later = unsent.filter(send_after__gt=now).count()
    return unsent.filter(Q(send_after__isnull=True) | Q(send_after__lte=now)).count(), later


def deadlines_due() -> int:
    from django.utils import timezone

    from claims.models import Claim

    return Claim.objects.filter(next_deadline_at__lte=timezone.now()).count()


def wait_until_quiet(processes: Processes, seconds: float) -> tuple[bool, float]:
    start = time.monotonic()
    while True:
        unsent, _later = outbox_waiting()
        due = deadlines_due()
        if not unsent and not due:
            return True, time.monotonic() - start
        if time.monotonic() - start > seconds:
            log(f"still waiting after {seconds:.0f} s: {unsent} emails unsent, {due} claims with a deadline due")
            return False, time.monotonic() - start
        if exited := processes.exited():
            raise Failure(f"processes exited while waiting: {exited}")
        time.sleep(1.0)


def check_emails(mailbox: Mailbox, kills: list[float], *, strict: bool) -> tuple[list[str], list[str], str]:
    """Every outbox row marked sent reached the SMTP server exactly once; nothing arrived that the outbox did not
    send. Matched by the row's Message-ID (claims.notifications.message_id) when the outbox sets one, otherwise by
    recipient and subject. The problems, the notes, and a summary.

    One duplicate no outbox can rule out: the server accepted a message (250) and the worker was killed before it
    marked the row sent; the row's claim runs out and it is sent again, with the same Message-ID (a mail reader shows
    it once). Such a duplicate is a note, with its evidence, unless `strict`: its first copy was accepted in the
    moment before a SIGKILL, the second after it, and the row took a second attempt. Any other duplicate fails."""
    from claims import notifications
    from claims.models import OutboundEmail

    sent = list(OutboundEmail.objects.filter(sent_at__isnull=False))
    given_up = OutboundEmail.objects.filter(sent_at__isnull=True, attempts__gte=notifications.MAX_ATTEMPTS).count()
    received = mailbox.snapshot()
    problems: list[str] = []
    notes: list[str] = []
    if given_up:
        problems.append(f"{given_up} outbox rows were given up")
    message_id = getattr(notifications, "message_id", None)
    if message_id is not None:
        expected = {message_id(row): row for row in sent}
        arrivals: dict[str, list[Received]] = defaultdict(list)
        for message in received:
            arrivals[message.message_id].append(message)
        missing = [key for key in expected if not arrivals.get(key)]
        unknown = [key for key in arrivals if key not in expected]
        duplicates = 0
        for key, copies in arrivals.items():
            if len(copies) < 2 or key not in expected:
                continue
            duplicates += len(copies) - 1
            row = expected[key]
            first, second = sorted(copies, key=lambda copy: copy.began)[:2]
            # The first conversation was under way when a worker was killed (or ended just before: the worker had
            # not marked the row yet), and the second one began after the kill.
            kill = next((k for k in kills if first.began <= k <= first.at + KILL_WINDOW and second.began > k), None)
            when = ", ".join(f"{copy.began - BEGAN_WALL:.2f}-{copy.at - BEGAN_WALL:.2f} s" for copy in copies)
            if kill is None or len(copies) > 2 or row.attempts < 2:
                kills_at = ", ".join(f"{k - BEGAN_WALL:.2f} s" for k in kills) or "none"
                problems.append(f"{key} (row {row.pk}, {row.event}, {row.attempts} attempts) arrived "
                                f"{len(copies)} times (handed over at {when}; SIGKILLs at {kills_at}), no kill "
                                f"explains it")
                continue
            evidence = (f"{key} (row {row.pk}, {row.event} to {row.to_email}, {row.attempts} attempts) arrived twice "
                        f"(handed over at {when}; its worker SIGKILLed at {kill - BEGAN_WALL:.2f} s): the server "
                        f"took the message as the worker died, before the worker marked the row sent; the row was "
                        f"sent again after its claim ran out, with the same Message-ID")
            (problems if strict else notes).append(evidence)
        how = "by Message-ID"
    else:
        expected_pairs = Counter((row.to_email.lower(), row.subject) for row in sent)
        arrived_pairs = Counter((message.to[0] if message.to else "", message.subject) for message in received)
        missing = list((expected_pairs - arrived_pairs).elements())
        extra = arrived_pairs - expected_pairs
        duplicates = sum(n for key, n in extra.items() if key in expected_pairs)
        unknown = [key for key in extra if key not in expected_pairs]
        if duplicates:
            problems.append(f"{duplicates} emails arrived more than once: "
                            f"{[key for key in extra if key in expected_pairs][:5]}")
        how = "by recipient and subject (the outbox sets no Message-ID)"
    if missing:
        problems.append(f"{len(missing)} emails marked sent never arrived, e.g. {missing[:3]}")
    if unknown:
        problems.append(f"{len(unknown)} emails arrived that no sent outbox row accounts for, e.g. {unknown[:3]}")
    retried = sum(1 for row in sent if row.attempts > 1)
    summary = (f"{len(sent)} outbox rows sent, {len(received)} messages received ({how}): {len(missing)} missing, "
               f"{duplicates} duplicates; {retried} sent on a later attempt (their worker lost mid-way)")
    return problems, notes, summary


def acted_on(expected: dict[int, str]) -> int:
    """How many of these claims have their expected step from the sweep in the log by now."""
    from django.db.models import Q

    from claims.models import ClaimTransition

    if not expected:
        return 0
    wanted = Q()
    for pk, name in expected.items():
        wanted |= Q(claim_id=pk, name=name)
    return ClaimTransition.objects.filter(wanted, actor__isnull=True).values("claim_id").distinct().count()


def check_deadlines(expected: dict[int, str]) -> tuple[list[str], str]:
    """Each claim made due was acted on exactly once by the sweep (one system step of the expected name in the
    transition log), no system step appears twice on any claim, and no deadline is due now."""
    from claims.models import ClaimTransition

    by_system = Counter(ClaimTransition.objects.filter(actor__isnull=True)
                        .exclude(name__in=["open", "opened"]).values_list("claim_id", "name"))
    problems = []
    not_acted = [pk for pk, name in expected.items() if by_system[(pk, name)] == 0]
    if not_acted:
        problems.append(f"{len(not_acted)} deadlines made due were not acted on (claims {not_acted[:10]})")
    twice = {key: n for key, n in by_system.items() if n > 1}
    if twice:
        problems.append(f"{len(twice)} system steps were logged more than once: {list(twice.items())[:10]}")
    if due := deadlines_due():
        problems.append(f"{due} claims still have a deadline due")
    kinds = Counter(expected.values())
    acted = sum(1 for pk, name in expected.items() if by_system[(pk, name)] == 1)
    summary = (f"{len(expected)} made due ({', '.join(f'{n} {name}' for name, n in sorted(kinds.items()))}), "
               f"{acted} acted on exactly once; {sum(by_system.values())} system steps in the log")
    return problems, summary


# --- set-up and tear-down -------------------------------------------------------------------------------------------


@contextlib.contextmanager
def database(name: str) -> Iterator[str]:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def flush_redis() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


def wait_ready(bases: list[str], processes: Processes, seconds: float = 60.0) -> str:
    """Poll each instance until it answers 200: /readyz when the site has it, else the login page."""
    deadline = time.monotonic() + seconds
    path = None
    with httpx.Client(timeout=5.0) as client:
        for base in bases:
            while True:
                if exited := processes.exited():
                    raise Failure(f"processes exited during start-up: {exited}")
                try:
                    for candidate in ([path] if path else ["/readyz", "/accounts/login/"]):
                        status = client.get(base + candidate).status_code
                        if status == 404 and path is None:
                            continue
                        if status == 200:
                            path = candidate
                        break
                    else:
                        status = 0
                    if status == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise Failure(f"{base} was not ready after {seconds:.0f} s")
                time.sleep(0.3)
    return path or "/accounts/login/"


def run_manage(env: dict[str, str], logs: Path, name: str, *args: str) -> subprocess.Popen[bytes]:
    out = open(logs / f"{name}.log", "wb")
    process = subprocess.Popen([str(BIN / "python"), "manage.py", *args],  # noqa: S603 - our manage.py
                               cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    out.close()
    return process


def finish(process: subprocess.Popen[bytes], name: str, logs: Path) -> None:
    if process.wait() != 0:
        raise Failure(f"{name} failed:\n{(logs / f'{name}.log').read_text()[-3000:]}")


# --- the run ----------------------------------------------------------------------------------------------------------


def interrupted(signum: int, frame: Any) -> None:
    """SIGTERM (CI giving up) cleans up as Ctrl-C does."""
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:  # noqa: C901 - one story, told in order
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=200, help="claims the buyers open (default 200)")
    parser.add_argument("--keep", action="store_true", help="keep the logs even when everything passed")
    parser.add_argument("--strict-once", action="store_true",
                        help="fail also on an email sent twice because its worker was killed between the server's "
                             "acceptance and marking the row sent (same Message-ID)")
    options = parser.parse_args()

    began = time.monotonic()
    temp = Path(tempfile.mkdtemp(prefix="cluster-test-"))
    logs = temp / "logs"
    logs.mkdir()
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    web_ports = [free_port(), free_port()]
    name = f"cluster_test_{uuid.uuid4().hex[:8]}"
    processes: Processes | None = None
    problems: list[str] = []
    ok = False
    signal.signal(signal.SIGTERM, interrupted)
    try:
        smtp.start()
        with database(name) as database_url:
            try:
                env = {
                    **{key: value for key, value in os.environ.items()
                       if not key.startswith(("DJANGO_", "CELERY_", "GUNICORN_"))},
                    "DJANGO_SETTINGS_MODULE": "config.settings.production",
                    "DJANGO_SECRET_KEY": uuid.uuid4().hex * 2,
                    "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
                    # Plain HTTP on the loopback: no redirect to https (the cookies stay Secure; Browser keeps them).
                    "DJANGO_SECURE_SSL_REDIRECT": "false",
                    "DATABASE_URL": database_url,
                    "REDIS_URL": REDIS_URL, "CELERY_BROKER_URL": REDIS_URL, "CACHE_URL": REDIS_URL,
                    "EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}", "EMAIL_TIMEOUT": "10",
                    # An email whose worker was killed mid-way is sent again after this (when the outbox claims rows).
                    "EMAIL_CLAIM_SECONDS": "20",
                    "SITE_URL": f"http://127.0.0.1:{web_ports[0]}",
                    "DJANGO_STATIC_ROOT": str(temp / "static"), "DJANGO_MEDIA_ROOT": str(temp / "media"),
                    "TRUSTED_PROXIES": "127.0.0.1",
                    "WEB_CONCURRENCY": "2",
                    "PYTHONUNBUFFERED": "1",
                }
                env.pop("DJANGO_DEBUG", None)
                os.environ.update(env)
                flush_redis()
                log(f"database {name}, Redis {REDIS_URL}, SMTP 127.0.0.1:{smtp.port}, logs in {logs}")
                migrate = run_manage(env, logs, "migrate", "migrate", "--noinput")
                processes = Processes(env, logs)
                celery = str(BIN / "celery")
                # Beat needs no table (its lock is an advisory lock), and its first tick comes a minute after it
                # starts: started now, it sweeps in the middle of the load.
                beat = [celery, "-A", "config", "beat", "--loglevel=INFO", f"--schedule={temp / 'celerybeat-schedule'}"]
                processes.start("beat", *beat)
                static = run_manage(env, logs, "collectstatic", "collectstatic", "--noinput")
                finish(migrate, "migrate", logs)
                log("migrated")

                # The workers need the tables: they start while the data is written.
                worker = [celery, "-A", "config", "worker", "--loglevel=INFO", "--concurrency=2", "--without-mingle",
                          "--without-gossip"]
                for n in (1, 2):
                    processes.start(f"worker{n}", *worker, "-n", f"worker{n}@cluster-test")

                import django

                sys.path.insert(0, str(ROOT))
                django.setup()
                # The site's LOGGING (INFO on the root) would print every SMTP command of the mailbox here.
                logging.getLogger().setLevel(logging.WARNING)
                logging.getLogger("mail.log").setLevel(logging.WARNING)
                world = seed(options.claims)
                log(f"{len(world.buyers)} buyers, {SELLERS} sellers and an agent with their orders written")
                finish(static, "collectstatic", logs)
                for n, port in enumerate(web_ports, 1):
                    processes.start(f"web{n}", str(BIN / "gunicorn"), "config.wsgi", "-c", "gunicorn.conf.py",
                                    GUNICORN_BIND=f"127.0.0.1:{port}")
                web = Web(web_ports)
                ready = wait_ready(web.bases, processes)
                ready_seconds = time.monotonic() - began
                log(f"ready ({ready} answers 200 on both instances) after {ready_seconds:.0f} s")

                photo = tiny_jpeg()
                number = journey(web, world, photo)
                log(f"journey: claim {number} opened, answered, rejected, escalated and decided (refund) over HTTP")

                load = Load(web, world, photo)
                expected: dict[int, str] = {}
                moved: set[str] = set()
                events: list[str] = []

                def due_so_far() -> None:
                    """Every 4th claim opened so far (1, 5, 9, ...): its first reply is now overdue."""
                    with load.lock:
                        wanted = [n for i, n in enumerate(load.opened) if i % 4 == 1 and n not in moved]
                    moved.update(wanted)
                    for pk in make_due(wanted, "first_reply_due_at", "awaiting_seller"):
                        expected[pk] = "first_reply_breach"

                def kill_worker1() -> None:
                    """With 3 messages being handed over at once, at least one is worker1's (2 processes each)."""
                    if not mailbox.busy(3, seconds=10.0):
                        events.append("(no 3 emails in flight at the kill)")
                    processes.kill("worker1")

                milestones: list[tuple[int, str, Callable[[], None]]] = [
                    (options.claims // 4, "first replies made due", due_so_far),
                    (options.claims // 2, "worker1 killed (SIGKILL)", kill_worker1),
                    (options.claims * 5 // 8, "worker1 started again",
                     lambda: processes.start("worker1", *worker, "-n", "worker1@cluster-test")),
                    (options.claims * 3 // 4, "beat stopped (SIGTERM) and started again",
                     lambda: (processes.stop("beat"), processes.start("beat", *beat))),
                    (options.claims * 3 // 4, "first replies made due", due_so_far),
                ]
                started = time.monotonic()
                with ThreadPoolExecutor(max_workers=CLIENT_THREADS) as pool:
                    futures = [pool.submit(load.buyer, username, orders) for username, orders in world.buyers.items()]
                    while not all(future.done() for future in futures):
                        while milestones and load.count() >= milestones[0][0]:
                            at, what, action = milestones.pop(0)
                            action()
                            events.append(f"{what} at {load.count()} claims")
                            log(f"{what} ({load.count()} claims opened)")
                        if exited := processes.exited():
                            raise Failure(f"processes exited during the load: {exited}")
                        time.sleep(0.1)
                for _at, what, action in milestones:  # fewer claims opened than planned: still do it all
                    action()
                    events.append(f"{what} after the load")
                if load.errors:
                    raise Failure(f"{len(load.errors)} buyers failed: {load.errors[:3]}")
                # How much the sweep had done while the buyers were still opening claims (a tick mid-load).
                acted_during_load = acted_on(expected)
                due_so_far()
                load_seconds = time.monotonic() - started
                log(f"{len(load.opened)} claims opened in {load_seconds:.0f} s")

                # The sellers answer some claims; their resolution deadline then passes: the platform takes them over.
                with load.lock:
                    answer = [n for i, n in enumerate(load.opened) if i % 4 == 3][:REPLIED]
                sellers_answer(web, world, answer)
                for pk in make_due(answer, "resolution_due_at", "in_progress"):
                    expected[pk] = "take_over"
                log(f"{len(answer)} claims answered by their sellers; their resolution deadlines made due")

                # The eleventh claim of one buyer within the hour, on the other instance than its tenth: refused.
                buyer, order, item = world.extra_order
                browser = Browser(web, f"{buyer} (11th claim)")
                try:
                    browser.login(buyer)
                    browser.post(f"/orders/{order}/help/", {"items": str(item), "reason": "trial_return",
                                                            "desired_outcome": "refund", "description": "One more."},
                                 expect=(429,))
                finally:
                    browser.close()

                quiet, waited = wait_until_quiet(processes, WAIT_SECONDS)
                if not quiet:
                    problems.append(f"not quiet after {WAIT_SECONDS} s")
                time.sleep(1.0)  # a message the server accepted as its row was marked sent is in the mailbox by now
                email_problems, email_notes, email_summary = check_emails(mailbox, processes.kills,
                                                                          strict=options.strict_once)
                deadline_problems, deadline_summary = check_deadlines(expected)
                problems += email_problems + deadline_problems
                if web.server_errors:
                    problems.append(f"{len(web.server_errors)} requests got a 5xx: {web.server_errors[:5]}")
                _unsent, later = outbox_waiting()

                print()
                print(f"cluster test: {'FAILED' if problems else 'passed'} in {time.monotonic() - began:.0f} s "
                      f"(started and ready in {ready_seconds:.0f} s, {len(load.opened)} claims opened in "
                      f"{load_seconds:.0f} s, quiet {waited:.0f} s after the last request)")
                for base, statuses in web.statuses.items():
                    print(f"  web {base}: {sum(statuses.values())} requests "
                          f"({', '.join(f'{code}: {n}' for code, n in sorted(statuses.items()))})")
                print(f"  claims: journey {number} decided; {len(load.opened)} opened by {len(world.buyers)} buyers; "
                      f"the 11th of one buyer refused (429)")
                print(f"  events: {'; '.join(events)}")
                later_words = f"; {later} waiting for a later moment (digests)" if later else ""
                print(f"  emails: {email_summary}{later_words}")
                print(f"  deadlines: {deadline_summary}; {acted_during_load} of them while the claims were "
                      f"still being opened")
                for note in email_notes:
                    print(f"  note (at-least-once, not a failure without --strict-once): {note}")
                for problem in problems:
                    print(f"  FAILURE: {problem}")
                ok = not problems
            finally:
                # Before the database goes: nothing may still be writing to it.
                if processes is not None:
                    processes.stop_all()
    except (Failure, KeyboardInterrupt) as error:
        print(f"\ncluster test: FAILED: {error}", file=sys.stderr)
    finally:
        smtp.stop()
        with contextlib.suppress(Exception):
            flush_redis()
        if ok and not options.keep:
            shutil.rmtree(temp, ignore_errors=True)
        else:
            print(f"logs kept in {logs}", file=sys.stderr if not ok else sys.stdout)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
