"""The demo's canned replies (claims.macros): a few that agents use every day, in English and in German, written by
the demo agent when the console was set up and used now and then since."""

from __future__ import annotations

from django.utils import timezone

from claims.models import Macro, MacroText

from .timeline import Demo, Story

# name: ({language: text}, times used)
MACROS: dict[str, tuple[dict[str, str], int]] = {
    "Ask for photos of the defect": ({
        "en": "Hello {buyer_name},\n\nto decide on claim {claim_number} we need clear photos of the defect: the whole "
              "item, a close-up of the fault and, if there is one, the serial number. Please upload them on the "
              "claim page.\n\nKind regards\n{agent_name}",
        "de": "Guten Tag {buyer_name},\n\num über Ihre Reklamation {claim_number} entscheiden zu können, benötigen "
              "wir aussagekräftige Fotos des Mangels: den ganzen Artikel, eine Nahaufnahme des Fehlers und, falls "
              "vorhanden, die Seriennummer. Bitte laden Sie die Fotos auf der Seite Ihrer Reklamation hoch.\n\nMit "
              "freundlichen Grüßen\n{agent_name}",
    }, 14),
    "Escalation received — decision date": ({
        "en": "Hello {buyer_name},\n\nthank you for your patience. Our support team has taken over claim "
              "{claim_number} for order {order_number} and will decide it by {decision_due} at the latest. You "
              "don't need to do anything for now; if we need more information, we will ask you.\n\nKind "
              "regards\n{agent_name}",
        "de": "Guten Tag {buyer_name},\n\nvielen Dank für Ihre Geduld. Unser Support-Team hat Ihre Reklamation "
              "{claim_number} zur Bestellung {order_number} übernommen und entscheidet spätestens bis "
              "{decision_due}. Sie müssen im Moment nichts weiter tun; falls wir weitere Informationen benötigen, "
              "melden wir uns bei Ihnen.\n\nMit freundlichen Grüßen\n{agent_name}",
    }, 9),
    "Tracking shows delivered — ask the buyer to check with neighbours": ({
        "en": "Hello {buyer_name},\n\nthe carrier's tracking shows order {order_number} as delivered. Before we "
              "decide, could you please ask your neighbours and, if there is one, your building's reception, check "
              "any safe place the carrier may have used and look for a delivery notice in your letterbox? Please "
              "tell us on the claim page what you find.\n\nKind regards\n{agent_name}",
        "de": "Guten Tag {buyer_name},\n\nlaut Sendungsverfolgung wurde Ihre Bestellung {order_number} zugestellt. "
              "Bevor wir entscheiden, bitten wir Sie, bei Ihren Nachbarn und gegebenenfalls am Empfang Ihres Hauses "
              "nachzufragen, mögliche Ablageorte zu prüfen und in Ihrem Briefkasten nach einer "
              "Benachrichtigungskarte zu sehen. Bitte teilen Sie uns das Ergebnis auf der Seite Ihrer Reklamation "
              "mit.\n\nMit freundlichen Grüßen\n{agent_name}",
    }, 6),
    "Ask the seller for proof of shipment": ({
        "en": "Hello {seller_name} team,\n\nthe buyer reports that order {order_number} has not arrived (claim "
              "{claim_number}). Please upload the proof of shipment and the tracking number on the claim page so "
              "that we can decide.\n\nKind regards\n{agent_name}",
        "de": "Sehr geehrtes Team von {seller_name},\n\nnach Angaben des Käufers ist die Bestellung {order_number} "
              "nicht angekommen (Reklamation {claim_number}). Bitte laden Sie den Versandnachweis und die "
              "Sendungsnummer auf der Seite der Reklamation hoch, damit wir entscheiden können.\n\nMit freundlichen "
              "Grüßen\n{agent_name}",
    }, 4),
    "Refund decided": ({
        "en": "We have reviewed the evidence and the conversation with {seller_name}: claim {claim_number} is "
              "justified. The full {refundable} is refunded to the original payment method.",
        "de": "Wir haben die Nachweise und den bisherigen Austausch mit {seller_name} geprüft: Die Reklamation "
              "{claim_number} ist berechtigt. Der volle Betrag von {refundable} wird auf das ursprüngliche "
              "Zahlungsmittel erstattet.",
    }, 11),
}


def stories(d: Demo) -> list[Story]:
    return [canned_replies(d)]


def canned_replies(d: Demo) -> Story:
    """The agent writes the team's canned replies when the console is set up; the counts stand for their use since
    (the demo's own decisions are typed, not inserted)."""
    yield d.ago(300, at="11:00")
    written = []
    for name, (texts, _used) in MACROS.items():
        macro, created = Macro.objects.get_or_create(name=name)
        if created:  # a macro of that name there before the demo is left as it is
            MacroText.objects.bulk_create([MacroText(macro=macro, language=code, body=body)
                                           for code, body in texts.items()])
            written.append(macro)
    yield d.ago(1, at="15:30")
    for macro in written:
        Macro.objects.filter(pk=macro.pk).update(usage_count=MACROS[macro.name][1],
                                                 last_used_at=timezone.now())
