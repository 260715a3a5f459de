"""The REST API under /api/v1/: mounts each app's router (each app owns its api.py)."""

from ninja import NinjaAPI

api = NinjaAPI(
    title="Solidaria API",
    version="1",
    description="Contacts, consent and privacy rights of one organization, by bearer token.",
    urls_namespace="api-1",
)
