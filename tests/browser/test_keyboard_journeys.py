"""Keyboard only (WCAG 2.1.1, 2.4.7): a buyer opens a claim from an order and writes to the seller, and the seller
answers it and offers a solution, with Tab, Shift+Tab, Enter, Space and the arrow keys: no click, no fill. Every
element the keyboard reaches on the way shows where the focus is (an outline).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from claims.models import Claim, Message, Offer
from claims.tests.factories import delivered_order
from sellers.models import SellerMembership
from sellers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "pw-for-tests-only"  # noqa: S105 - the factories' password
FOCUS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) { return null; }
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2;
  return { outline: outline || style.boxShadow !== "none",
           name: el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + " " +
                 (el.innerText || el.value || el.name || "").trim().slice(0, 30) };
}"""


def focused(page: Any, selector: str) -> bool:
    return page.evaluate("(s) => !!document.activeElement && document.activeElement.matches(s)", selector)


def tab_to(page: Any, selector: str, *, backwards: bool = False, limit: int = 150) -> None:
    """Tab (or Shift+Tab) until the element matching `selector` has the focus; each element passed on the way shows
    its focus."""
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        state = page.evaluate(FOCUS)
        if state is not None:
            assert state["outline"], f"no visible focus on {state['name']} ({page.url})"
        if focused(page, selector):
            return
    raise AssertionError(f"the keyboard never reached {selector} on {page.url}")


def choose(page: Any, name: str, value: str) -> None:
    """A radio button of a group, as the keyboard chooses it: Tab into the group, then the arrow keys."""
    tab_to(page, f"input[type=radio][name='{name}']")
    for _ in range(12):
        if page.evaluate("() => document.activeElement.value") == value:
            page.keyboard.press("Space")
            assert page.is_checked(f"input[name='{name}'][value='{value}']")
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"no choice {value} in {name}")


def press_and_wait(page: Any, key: str) -> None:
    with page.expect_navigation():
        page.keyboard.press(key)


def log_in_with_the_keyboard(page: Any, username: str) -> None:
    page.goto("/accounts/login/")
    tab_to(page, "#id_username")
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    assert focused(page, "#id_password")
    page.keyboard.type(PASSWORD)
    press_and_wait(page, "Enter")


def test_a_buyer_opens_a_claim_and_writes_to_the_seller_with_the_keyboard(page):
    order = delivered_order(delivered_at=timezone.now() - dt.timedelta(days=6),
                            estimated_delivery=timezone.localdate() - dt.timedelta(days=6))
    log_in_with_the_keyboard(page, order.buyer.username)
    assert page.url.endswith("/orders/")

    tab_to(page, f"a[href$='/orders/{order.number}/']")
    press_and_wait(page, "Enter")
    tab_to(page, f"a[href$='/orders/{order.number}/help/']")
    press_and_wait(page, "Enter")
    assert page.url.endswith("/help/")

    # the item, the reason (arrow keys within the group), the description, the outcome; no file is needed
    tab_to(page, "input[name=items]")
    if not page.evaluate("() => document.activeElement.checked"):
        page.keyboard.press("Space")
    assert page.is_checked("input[name=items]")
    choose(page, "reason", "trial_return")
    tab_to(page, "#id_description")
    page.keyboard.type("It works, but it is too big for my hands. I would like to send it back.")
    choose(page, "desired_outcome", "refund")
    tab_to(page, "form[data-get-help] button[type=submit]")
    # one step back and forth: Shift+Tab leaves the button, Tab comes back to it
    page.keyboard.press("Shift+Tab")
    assert not focused(page, "form[data-get-help] button[type=submit]")
    tab_to(page, "form[data-get-help] button[type=submit]")
    press_and_wait(page, "Enter")
    claim = Claim.objects.get(order=order)
    assert (claim.reason, claim.desired_outcome) == ("trial_return", "refund")
    assert page.locator("#receipt-title").is_visible()

    tab_to(page, "#id_body")
    page.keyboard.type("I can bring it to a parcel shop tomorrow.")
    tab_to(page, "form[action$='/message/'] button[type=submit]")
    press_and_wait(page, "Enter")
    assert Message.objects.filter(claim=claim, body="I can bring it to a parcel shop tomorrow.").exists()
    assert page.locator("[role=status] .messages li.success").count() == 1


def test_a_seller_answers_a_claim_and_offers_a_solution_with_the_keyboard(page):
    from claims import services

    order = delivered_order(delivered_at=timezone.now() - dt.timedelta(days=6),
                            estimated_delivery=timezone.localdate() - dt.timedelta(days=6))
    owner = UserFactory()
    SellerMembership.objects.create(user=owner, seller=order.seller, role="owner")
    claim = services.open_claim(order=order, buyer=order.buyer, reason="trial_return",
                                description="Too big for my hands.", desired_outcome="refund")
    log_in_with_the_keyboard(page, owner.username)
    assert page.url.endswith("/seller/")

    tab_to(page, f"a[href*='/seller/claims/{claim.number}/']")
    press_and_wait(page, "Enter")

    # a reply: the first thing to do on a new claim, so its section is open; Enter on its summary folds and unfolds it
    tab_to(page, "#action-reply > summary")
    assert page.evaluate("() => document.getElementById('action-reply').open")
    page.keyboard.press("Enter")
    assert not page.evaluate("() => document.getElementById('action-reply').open")
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.getElementById('action-reply').open")
    tab_to(page, "#id_reply-body")
    page.keyboard.type("Thank you: we send you a return label today.")
    tab_to(page, "#action-reply button[type=submit]")
    press_and_wait(page, "Enter")
    assert Message.objects.filter(claim=claim, body="Thank you: we send you a return label today.").exists()

    # an offer: a return for a refund, chosen with the arrow keys
    tab_to(page, "#action-offer > summary")
    page.keyboard.press("Space")
    assert page.evaluate("() => document.getElementById('action-offer').open")
    choose(page, "offer-kind", "return_for_refund")
    tab_to(page, "#id_offer-note")
    page.keyboard.type("Send it back with the label; we refund the full price.")
    tab_to(page, "#action-offer button[type=submit]")
    press_and_wait(page, "Enter")
    offer = Offer.objects.get(claim=claim)
    assert offer.kind == "return_for_refund" and offer.note == "Send it back with the label; we refund the full price."
