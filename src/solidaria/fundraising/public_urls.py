"""An organization's public giving pages, under /<org_slug>/ (see public_views)."""

from django.urls import path

from solidaria.fundraising import public_views as views

app_name = "fundraising_public"
urlpatterns = [
    path("donate", views.donate, name="donate"),
    path("donate/thanks/<str:token>", views.thanks, name="thanks"),
    path("c/<slug:campaign_slug>", views.campaign_page, name="campaign"),
    path("c/<slug:campaign_slug>/progress.json", views.campaign_progress, name="campaign_progress"),
    path("c/<slug:campaign_slug>/start", views.start_page, name="start_page"),
    path("c/<slug:campaign_slug>/p/<slug:page_slug>", views.peer_page, name="peer_page"),
    path(
        "c/<slug:campaign_slug>/p/<slug:page_slug>/progress.json",
        views.peer_page_progress,
        name="peer_page_progress",
    ),
]
