"""The REST API under /api/v1/: bearer auth, error mapping, docs, and each app's router.

Every error is JSON `{"detail": …}`: a string, except for 422 where it lists field errors
`{"loc": ["body", "emails"], "msg": "…", "type": "…"}` — the same shape whether the schema
or the domain (`core.errors.Invalid`) refused the input.
"""

import logging
from pathlib import Path
from typing import Any

import ninja
from django.core.exceptions import SuspiciousOperation
from django.db import IntegrityError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, path, re_path, reverse
from django.utils.html import escape, json_script
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.docs import DocsBase
from ninja.operation import Operation

from solidaria.consent.api import router as consent_router
from solidaria.core.api import BearerToken
from solidaria.core.errors import DomainError, Invalid
from solidaria.fundraising.api import router as fundraising_router
from solidaria.ledger.api import router as ledger_router
from solidaria.people.api import router as people_router

logger = logging.getLogger(__name__)

# Swagger UI ships inside django-ninja; we serve it ourselves because the site's
# Content-Security-Policy allows only our own scripts and styles (no CDN, no inline script).
_DOCS_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-init.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon.svg": "image/svg+xml",
    "favicon.png": "image/png",
}
_NINJA_STATIC = Path(ninja.__file__).parent / "static" / "ninja"

_STATUS_DESCRIPTIONS = {
    400: "Malformed request: a body that is not JSON, or too many parameters.",
    401: "Missing, unknown or revoked bearer token.",
    403: "Your role does not allow this.",
    404: "No such resource in your organization.",
    409: "Conflicts with the current state.",
    422: "Invalid input; `detail` lists the errors by field.",
}


class LocalSwagger(DocsBase):
    """Swagger UI from our own origin, configured without inline script."""

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        settings = {
            "url": self.get_openapi_url(api, kwargs),
            "layout": "BaseLayout",
            "deepLinking": True,
        }
        asset = reverse(f"{api.urls_namespace}:docs-asset", kwargs={"name": "-"})[:-1]
        html = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{escape(api.title)}</title>
<link rel="stylesheet" href="{asset}swagger-ui.css">
<link rel="icon" href="{asset}favicon.svg" type="image/svg+xml">
</head>
<body data-csrf-token="" data-api-csrf="">
{json_script(settings, "swagger-settings")}
<div id="swagger-ui"></div>
<script src="{asset}swagger-ui-bundle.js"></script>
<script src="{asset}swagger-ui-init.js"></script>
</body>
</html>"""
        return HttpResponse(html)


def _docs_asset(request: HttpRequest, name: str) -> HttpResponse:
    if name not in _DOCS_ASSETS:
        return _not_found(request)
    response = FileResponse((_NINJA_STATIC / name).open("rb"), content_type=_DOCS_ASSETS[name])
    response["Cache-Control"] = "public, max-age=86400"
    return response


def _not_found(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return api.create_response(request, {"detail": "Not found."}, status=404)


def _index(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return api.create_response(
        request,
        {
            "openapi": reverse(f"{api.urls_namespace}:openapi-json"),
            "docs": reverse(f"{api.urls_namespace}:openapi-view"),
        },
        status=200,
    )


class SolidariaAPI(NinjaAPI):
    # `_get_urls` is django-ninja's (private) hook for its URL list; pyproject pins ninja < 2,
    # and test_api_auth.py fails loudly if the docs assets or the JSON 404 go missing.
    def _get_urls(self) -> list[URLPattern | URLResolver]:
        urls = [url for url in super()._get_urls() if getattr(url, "name", "") != "api-root"]
        return [
            *urls,
            path("docs/assets/<str:name>", _docs_asset, name="docs-asset"),
            path("", _index, name="api-root"),
            # Anything else under /api/v1/ answers JSON too, not the site's HTML 404 page.
            re_path(r"^.*$", _not_found),
        ]

    def get_openapi_operation_id(self, operation: Operation) -> str:
        return operation.view_func.__name__

    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(*args, **kwargs)
        for operations in schema["paths"].values():
            for operation in operations.values():
                for status, response in operation["responses"].items():
                    if int(status) in _STATUS_DESCRIPTIONS:
                        response["description"] = _STATUS_DESCRIPTIONS[int(status)]
        return schema


api = SolidariaAPI(
    title="Solidaria API",
    version="1",
    description=(
        "Contacts, consent and privacy rights of one organization. Authenticate with "
        "`Authorization: Bearer <token>` (`solidaria token create`). Errors are JSON "
        '`{"detail": …}`; another organization\'s rows answer 404, like missing ones.'
    ),
    urls_namespace="api-1",
    auth=BearerToken(),
    docs=LocalSwagger(),
)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = api.create_response(
        request, {"detail": "Missing, unknown or revoked bearer token."}, status=401
    )
    response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return api.create_response(request, {"detail": exc.message}, status=exc.status_code)


@api.exception_handler(Http404)
def _http404(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _not_found(request)


@api.exception_handler(ValidationError)
def _invalid_request(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    detail = []
    for error in exc.errors:
        loc = list(error["loc"])
        # Ninja names the body parameter (`payload`) in the location; the client never sees
        # that name, and the domain's errors have no such step.
        if loc[:2] == ["body", "payload"]:
            del loc[1]
        detail.append({"loc": loc, "msg": error["msg"], "type": error["type"]})
    return api.create_response(request, {"detail": detail}, status=422)


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    if isinstance(exc, Invalid):
        detail: Any = [
            {"loc": ["body", field], "msg": message, "type": "invalid"}
            for field, messages in exc.errors.items()
            for message in messages
        ] or [{"loc": ["body"], "msg": exc.message, "type": "invalid"}]
    else:
        detail = exc.message
    return api.create_response(request, {"detail": detail}, status=exc.status)


@api.exception_handler(IntegrityError)
def _integrity_error(request: HttpRequest, exc: IntegrityError) -> HttpResponse:
    # A concurrent request won a uniqueness race, or rows that must be kept point here; the
    # action's transaction rolled back, so nothing was half-written.
    logger.info("API integrity error: %s", exc)
    return api.create_response(
        request, {"detail": "Conflicts with the current state; reload and retry."}, status=409
    )


@api.exception_handler(SuspiciousOperation)
def _suspicious(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
    return api.create_response(request, {"detail": "Bad request."}, status=400)


api.add_router("", people_router)
api.add_router("", consent_router)
api.add_router("", fundraising_router)
api.add_router("", ledger_router)
