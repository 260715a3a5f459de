from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views.i18n import set_language

from solidaria.api import api


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", api.urls),
    path("app/<slug:org_slug>/contacts/", include("solidaria.people.urls")),
    path("app/<slug:org_slug>/consent/", include("solidaria.consent.urls")),
    path("app/<slug:org_slug>/fundraising/", include("solidaria.fundraising.urls")),
    path("app/<slug:org_slug>/", include("solidaria.core.urls")),
    path("webhooks/<slug:org_slug>/", include("solidaria.fundraising.webhook_urls")),
    path("", include("solidaria.fundraising.donor_urls")),  # /t/<token>, /me/
    path("", include("solidaria.web.urls")),
    # An organization's public pages, last: /<org>/… must not shadow the paths above.
    path("<slug:org_slug>/transparency/", include("solidaria.fundraising.transparency_urls")),
    path("<slug:org_slug>/transparency/", include("solidaria.ledger.public_urls")),
    path("<slug:org_slug>/", include("solidaria.fundraising.public_urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
