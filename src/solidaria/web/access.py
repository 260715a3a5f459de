"""How a staff page reaches its organization: `@org_view("permission")`.

Another organization's pages answer 404 exactly like a missing one; a role without the
permission gets 403; an organization that requires two-factor authentication sends staff
without an authenticator to set one up first.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _

from solidaria.core.access import membership_for, user_has_mfa
from solidaria.core.audit import Actor
from solidaria.core.errors import NotFound
from solidaria.core.roles import role_allows

View = Callable[..., HttpResponse]


def org_view(permission: str) -> Callable[[View], View]:
    """Resolve `org_slug` to `request.org` and `request.membership`, enforcing `permission`."""

    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, org_slug: str, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                membership = membership_for(user=request.user, org_slug=org_slug)  # type: ignore[arg-type]
            except NotFound:
                raise Http404 from None
            org = membership.organization
            if org.require_mfa and not user_has_mfa(request.user):  # type: ignore[arg-type]
                messages.warning(
                    request,
                    _("%(org)s requires two-factor authentication. Set it up to continue.")
                    % {"org": org.name},
                )
                return redirect("mfa_index")
            if not role_allows(membership.role, permission):
                raise PermissionDenied
            request.org = org  # type: ignore[attr-defined]
            request.membership = membership  # type: ignore[attr-defined]
            request.actor = Actor(user=membership.user, via="web")  # type: ignore[attr-defined]
            # Times are read and shown in the organization's own time zone.
            with timezone.override(org.time_zone):
                return view(request, *args, **kwargs)

        return wrapper

    return decorator
