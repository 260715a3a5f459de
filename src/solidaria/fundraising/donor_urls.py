from django.urls import path, re_path

from solidaria.fundraising import donor_views

app_name = "fundraising_donor"

# Tracking tokens are `secrets.token_urlsafe(16)`: letters, digits, `-` and `_`.
TRACKING = r"(?P<token>[A-Za-z0-9_-]{8,64})"

urlpatterns = [
    re_path(rf"^t/{TRACKING}\.json$", donor_views.tracking_json, name="tracking_json"),
    re_path(rf"^t/{TRACKING}$", donor_views.tracking_page, name="tracking"),
    path("me/", donor_views.portal, name="portal"),
    path("me/login/<str:token>", donor_views.login, name="login"),
    path("me/logout", donor_views.logout, name="logout"),
    path("me/gifts/<int:donation_id>/receipt.pdf", donor_views.receipt, name="receipt"),
    path("me/statements/<int:year>.pdf", donor_views.statement, name="statement"),
    path("me/plans/<int:plan_id>/<slug:action>", donor_views.plan_action, name="plan_action"),
    path("me/consents", donor_views.consent, name="consent"),
]
