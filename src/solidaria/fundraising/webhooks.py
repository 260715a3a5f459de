"""Payment providers' webhooks: `/webhooks/<org>/stripe` and `/webhooks/<org>/mollie`.

Each request is verified (Stripe's signature; Mollie's signature when it sends one, and
always a re-fetch of the payment with our key), stored raw before we answer 200, and
processed after commit by the `process_webhook` task. Answers: 404 for an unknown
organization or a provider it has not set up, 400 for a bad signature or body (nothing
stored), 503 when Mollie cannot be reached (Mollie retries), 200 otherwise — also for a
delivery we already processed, which changes nothing.
"""

import logging

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from solidaria.core.models import Organization
from solidaria.fundraising.models import PaymentProvider
from solidaria.fundraising.payments.base import (
    BadSignature,
    NotConfigured,
    ProviderError,
    UnknownPayment,
)
from solidaria.fundraising.payments.processing import begin_hosted_checkout, receive_webhook

__all__ = ["begin_hosted_checkout", "mollie_webhook", "stripe_webhook"]

logger = logging.getLogger(__name__)

MAX_BODY = 512 * 1024  # Stripe's events are a few kB; Mollie's a line


def _text(status: int, message: str) -> HttpResponse:
    return HttpResponse(message + "\n", status=status, content_type="text/plain; charset=utf-8")


def _receive(request: HttpRequest, org_slug: str, kind: str) -> HttpResponse:
    org = Organization.objects.filter(slug=org_slug).first()
    provider = (
        PaymentProvider.objects.select_related("organization")
        .filter(organization=org, kind=kind, enabled=True)
        .first()
        if org is not None
        else None
    )
    if provider is None:
        return _text(404, "not found")
    body = request.read(MAX_BODY + 1)  # bounded whatever Content-Length claims
    if len(body) > MAX_BODY:
        return _text(413, "too large")
    try:
        received = receive_webhook(provider=provider, body=body, headers=dict(request.headers))
    except NotConfigured:
        return _text(404, "not found")
    except BadSignature as error:
        logger.warning("%s webhook for %s refused: %s", kind, org_slug, error)
        return _text(400, "bad signature")
    except UnknownPayment:
        # Mollie advises answering 200 for ids it does not know: nothing to learn by probing.
        return _text(200, "ignored")
    except ProviderError as error:
        logger.warning("%s webhook for %s: provider unreachable: %s", kind, org_slug, error.detail)
        return _text(503, "try again later")
    except (ValueError, UnicodeDecodeError):
        return _text(400, "bad request")
    if received.webhook is None:
        return _text(200, "ignored")
    return _text(200, "duplicate" if received.duplicate else "ok")


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest, org_slug: str) -> HttpResponse:
    return _receive(request, org_slug, PaymentProvider.Kind.STRIPE)


@csrf_exempt
@require_POST
def mollie_webhook(request: HttpRequest, org_slug: str) -> HttpResponse:
    return _receive(request, org_slug, PaymentProvider.Kind.MOLLIE)
