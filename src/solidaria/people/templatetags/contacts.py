"""Template helpers of the contact pages: `{% load contacts %}`."""

from typing import TYPE_CHECKING

from django import template
from django.utils.safestring import SafeString

from solidaria.people import forms
from solidaria.people.models import ActivityKind

if TYPE_CHECKING:
    from solidaria.people.views import PanelView

register = template.Library()


@register.filter
def phone(number: str, country: str = "") -> str:
    """`{{ number|phone:request.org.country }}`: +34612345678 → 612 34 56 78 in Spain."""
    return forms.format_phone(number, country=country)


@register.filter
def language_name(code: str) -> str:
    return forms.language_name(code) if code else ""


@register.filter
def activity_kind(code: str) -> str:
    """The label of a timeline entry's kind; other apps' own kinds show as their code."""
    return str(ActivityKind(code).label) if code in ActivityKind.values else code


@register.simple_tag(takes_context=True)
def render_panel(context: template.Context, panel: "PanelView") -> SafeString:
    """Render a panel's template with the page's context plus the panel's own, like include."""
    panel_template = context.template.engine.get_template(panel.template)
    with context.push(panel.context):
        return panel_template.render(context)
