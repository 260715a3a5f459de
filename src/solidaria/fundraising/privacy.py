"""The fundraising app's part in a person's export and erasure.

Gifts are financial records the law requires to keep: erasure leaves them, and their
amounts, linked to the de-identified contact. The public ledger never held personal data
(only opaque references), so it is left as it is and still verifies.
"""

from typing import Any

from django.utils import timezone

from solidaria.fundraising.models import Donation, PeerPage, RecurringPlan
from solidaria.fundraising.queries import mask_iban
from solidaria.people.models import Contact
from solidaria.people.registry import ContactDataOwner


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def _export(contact: Contact) -> dict[str, Any]:
    gifts = (
        Donation.objects.filter(organization_id=contact.organization_id, contact=contact)
        .select_related("fund", "campaign")
        .order_by("created_at", "pk")
    )
    plans = (
        RecurringPlan.objects.filter(organization_id=contact.organization_id, contact=contact)
        .select_related("fund")
        .order_by("created_at", "pk")
    )
    pages = (
        PeerPage.objects.filter(organization_id=contact.organization_id, supporter=contact)
        .select_related("campaign")
        .order_by("created_at", "pk")
    )
    return {
        "gifts": [
            {
                "public_ref": gift.public_ref,
                "amount_minor": gift.amount_minor,
                "currency": gift.currency,
                "fund": gift.fund.slug,
                "campaign": gift.campaign.slug if gift.campaign_id else None,
                "method": gift.method,
                "status": gift.status,
                "payment_reference": gift.payment_reference,
                "receipt_number": gift.receipt_number,
                "refunded_minor": gift.refunded_minor,
                "created_at": _iso(gift.created_at),
                "received_at": _iso(gift.received_at),
                "ledger_seq": gift.ledger_seq,
            }
            for gift in gifts
        ],
        "recurring_plans": [
            {
                "amount_minor": plan.amount_minor,
                "currency": plan.currency,
                "fund": plan.fund.slug,
                "frequency": plan.frequency,
                "method": plan.method,
                "status": plan.status,
                # Masked: an export travels by email and download folders.
                "iban": mask_iban(plan.iban),
                "bic": plan.bic,
                "account_holder": plan.account_holder,
                "mandate_reference": plan.mandate_reference,
                "mandate_signed_at": _iso(plan.mandate_signed_at),
                "next_due": _iso(plan.next_due),
                "created_at": _iso(plan.created_at),
                "cancelled_at": _iso(plan.cancelled_at),
            }
            for plan in plans
        ],
        "peer_pages": [
            {
                "campaign": page.campaign.slug,
                "slug": page.slug,
                "title": page.title,
                "story": page.story,
                "goal_minor": page.goal_minor,
                "language": page.language,
                "hidden": page.hidden_at is not None,
                "created_at": _iso(page.created_at),
            }
            for page in pages
        ],
    }


def _erase(contact: Contact) -> None:
    now = timezone.now()
    plans = RecurringPlan.objects.filter(organization_id=contact.organization_id, contact=contact)
    plans.exclude(status=RecurringPlan.Status.CANCELLED).update(
        status=RecurringPlan.Status.CANCELLED, cancelled_at=now
    )
    # The IBAN and the provider's customer are personal; the mandate reference stays with the
    # gifts already collected under it (banks quote it on returns).
    plans.update(
        iban="", bic="", account_holder="", provider_customer_id="", provider_mandate_id=""
    )
    pages = PeerPage.objects.filter(organization_id=contact.organization_id, supporter=contact)
    pages.filter(hidden_at__isnull=True).update(hidden_at=now)
    pages.update(title="", story="")
    Donation.objects.filter(organization_id=contact.organization_id, contact=contact).update(
        note=""
    )


OWNER = ContactDataOwner(name="fundraising", export=_export, erase=_erase)
