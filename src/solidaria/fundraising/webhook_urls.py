from django.urls import path

from solidaria.fundraising import webhooks

app_name = "fundraising_webhooks"

urlpatterns = [
    path("stripe", webhooks.stripe_webhook, name="stripe"),
    path("mollie", webhooks.mollie_webhook, name="mollie"),
]
