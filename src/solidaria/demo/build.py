"""The demo network's generator: seeded, so the same seed gives the same people.

`load_demo` creates the network, its organizations and staff through the core actions, then
writes contacts and everything that hangs off them with `bulk_create`, in chunks and inside
one transaction. `populate_organization` is the reusable part (the benchmark calls it for
100,000 contacts in one organization).
"""

import datetime
import random
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any, TextIO

import phonenumbers
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone
from faker import Faker

from solidaria.consent.actions import ensure_default_purposes
from solidaria.consent.models import ConsentEvent, LawfulBasis, Purpose
from solidaria.core import audit
from solidaria.core.actions import add_staff, create_network, create_organization
from solidaria.core.audit import Actor
from solidaria.core.models import Membership, Network, Organization, User
from solidaria.core.roles import Role
from solidaria.demo.data import (
    ARABIC_FAMILY,
    ARABIC_FEMALE,
    ARABIC_HOUSEHOLD_WORD,
    ARABIC_MALE,
    ARABIC_NOTE,
    COORDINATOR_EMAIL,
    DEMO_PASSWORD,
    NETWORK_NAME,
    NETWORK_SLUG,
    PROFILES,
    District,
    Profile,
)
from solidaria.demo.fundraising import has_fundraising, populate_fundraising
from solidaria.people.actions import search_rows, sort_name_for, tags_by_name
from solidaria.people.models import (
    Activity,
    ActivityKind,
    Channel,
    Contact,
    ContactEmail,
    ContactKind,
    ContactPhone,
    ContactRole,
    ContactRoleKind,
    ContactTag,
    Relationship,
    RelationshipKind,
    SearchTerm,
)
from solidaria.people.normalize import fold

ACTOR = Actor.system("demo")
DEFAULT_SEED = 2025
DEFAULT_CONTACTS = 2000
_CHUNK = 2000  # contacts per bulk write: bounds memory for the 100,000-contact benchmark
_YEAR = datetime.timedelta(days=365)
_ROLE_SHARES = (
    (ContactRoleKind.DONOR, 0.40),
    (ContactRoleKind.MEMBER, 0.25),
    (ContactRoleKind.VOLUNTEER, 0.15),
    (ContactRoleKind.BENEFICIARY, 0.12),
    (ContactRoleKind.STAFF, 0.01),
)
_SOURCES = ("web form", "paper form", "import")
_SOURCE_WEIGHTS = (45, 35, 20)
_ACTIVITY_COUNT_WEIGHTS = (35, 30, 20, 10, 5)  # 0, 1, 2, 3, 4 activities
_TIMELINE_ROLES = (
    Role.ADMIN,
    Role.FUNDRAISER,
    Role.COMMUNICATIONS,
    Role.VOLUNTEER_COORDINATOR,
    Role.CASE_WORKER,
)
_NOT_LOCAL = re.compile(r"[^a-z0-9]+")


@dataclass
class Counts:
    contacts: int = 0
    households: int = 0
    organizations: int = 0
    arabic_speakers: int = 0
    emails: int = 0
    phones: int = 0
    tags: int = 0
    contact_tags: int = 0
    roles: int = 0
    relationships: int = 0
    activities: int = 0
    consent_events: int = 0
    search_terms: int = 0

    def add(self, other: "Counts") -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Login:
    email: str
    role: str
    org: str


@dataclass
class DemoResult:
    created: bool
    network: Network
    organizations: list[Organization]
    logins: list[Login]
    counts: Counts
    seconds: float


def load_demo(
    *, contacts_per_org: int = DEFAULT_CONTACTS, seed: int = DEFAULT_SEED, out: TextIO | None = None
) -> DemoResult:
    """Create the demo network, or find it when it exists (then nothing is written).

    Everything lands in one transaction: a failed load leaves no half network behind.
    """
    started = time.perf_counter()
    network = Network.objects.filter(slug=NETWORK_SLUG).first()
    if network is not None:
        orgs = _network_orgs(network)
        # A demo made before fundraising existed gets its books now; else nothing is written.
        for index, org in enumerate(orgs):
            if not has_fundraising(org):
                populate_fundraising(org=org, seed=seed + 1000 * index)
        return DemoResult(False, network, orgs, demo_logins(orgs), Counts(), 0.0)
    total = Counts()
    with transaction.atomic():
        network = create_network(actor=ACTOR, slug=NETWORK_SLUG, name=NETWORK_NAME)
        staff_by_org: dict[str, list[Membership]] = {}
        orgs = []
        for profile in PROFILES:
            org = create_organization(
                actor=ACTOR,
                slug=profile.slug,
                name=profile.name,
                country=profile.country,
                currency=profile.currency,
                language=profile.language,
                time_zone=profile.time_zone,
                network=network,
            )
            ensure_default_purposes(org=org, actor=ACTOR)
            staff_by_org[org.slug] = add_demo_staff(org=org, profile=profile, seed=seed)
            orgs.append(org)
        for org in orgs:
            role = Role.ADMIN if org.slug == PROFILES[0].slug else Role.VIEWER
            add_staff(
                org=org,
                actor=ACTOR,
                email=COORDINATOR_EMAIL,
                role=role,
                full_name="Coordinació Xarxa Solidària",
            )
        # One Argon2 hash for every demo account (they share the published password anyway);
        # hashing it 22 times would cost seconds for nothing.
        User.objects.filter(memberships__organization__in=orgs).update(
            password=make_password(DEMO_PASSWORD)
        )
        for index, (profile, org) in enumerate(zip(PROFILES, orgs, strict=True)):
            org_started = time.perf_counter()
            counts = populate_organization(
                org=org,
                profile=profile,
                contacts=contacts_per_org,
                seed=seed + 1000 * index,
                staff=[m.user for m in staff_by_org[org.slug]],
            )
            total.add(counts)
            money = populate_fundraising(org=org, seed=seed + 1000 * index)
            if out is not None:
                out.write(
                    f"  {org.slug}: {counts.contacts} contacts, {money.gifts} gifts, "
                    f"{money.ledger_entries} ledger entries "
                    f"in {time.perf_counter() - org_started:.1f} s\n"
                )
    refresh_planner_statistics()
    return DemoResult(True, network, orgs, demo_logins(orgs), total, time.perf_counter() - started)


def refresh_planner_statistics() -> None:
    """Statistics (and, on PostgreSQL, the visibility map) for the rows just bulk-loaded.

    Until autovacuum gets round to it, PostgreSQL plans with the statistics of empty tables
    and picks nested loops that take seconds on 100,000 contacts; and without the
    visibility map its index-only scans (counts, filters) still read every table page.
    PostgreSQL refuses VACUUM inside a transaction (a test's, say); ANALYZE alone then.
    """
    vacuum = connection.vendor == "postgresql" and not connection.in_atomic_block
    statement = "VACUUM (ANALYZE)" if vacuum else "ANALYZE"
    with connection.cursor() as cursor:
        cursor.execute(statement)


def _network_orgs(network: Network) -> list[Organization]:
    order = {profile.slug: i for i, profile in enumerate(PROFILES)}
    orgs = list(Organization.objects.filter(network=network))
    return sorted(orgs, key=lambda org: (order.get(org.slug, len(order)), org.slug))


def demo_logins(orgs: Sequence[Organization]) -> list[Login]:
    """Every staff account of the demo organizations: each one's staff, then the coordinator."""
    rank = {role: i for i, role in enumerate(Role.values)}
    memberships = (
        Membership.objects.filter(organization__in=orgs)
        .select_related("user", "organization")
        .order_by()
    )
    org_rank = {org.pk: i for i, org in enumerate(orgs)}
    ordered = sorted(
        memberships,
        key=lambda m: (
            m.user.email == COORDINATOR_EMAIL,
            org_rank[m.organization_id],
            rank[m.role],
        ),
    )
    return [Login(email=m.user.email, role=m.role, org=m.organization.slug) for m in ordered]


def add_demo_staff(*, org: Organization, profile: Profile, seed: int) -> list[Membership]:
    """One staff account per role, `<role>@<org>.demo`, named in the organization's language.

    The accounts have no usable password yet; the caller sets one.
    """
    faker = Faker(profile.locales[0][1])
    faker.seed_instance(seed)
    return [
        add_staff(
            org=org,
            actor=ACTOR,
            email=f"{role.replace('_', '-')}@{org.slug}.demo",
            role=role,
            full_name=faker.name(),
        )
        for role in Role.values
    ]


def populate_organization(
    *, org: Organization, profile: Profile, contacts: int, seed: int, staff: Sequence[User]
) -> Counts:
    """Write `contacts` contacts (persons, households, partner organizations) into `org`.

    Needs the organization's consent purposes (ensure_default_purposes). Run it inside a
    transaction: on SQLite one transaction makes the bulk writes several times faster.
    """
    return _Builder(org=org, profile=profile, seed=seed, staff=staff).run(contacts)


@dataclass
class _Draft:
    contact: Contact
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    links: list[tuple["_Draft", str]] = field(default_factory=list)  # (to, kind)


@dataclass(frozen=True)
class _Address:
    district: District
    street: str
    postal_code: str


class _Builder:
    def __init__(
        self, *, org: Organization, profile: Profile, seed: int, staff: Sequence[User]
    ) -> None:
        self.org = org
        self.profile = profile
        self.rng = random.Random(seed)  # noqa: S311 (made-up people, not secrets)
        self.fakers: dict[str, Faker] = {}
        for offset, locale in enumerate(
            sorted({locale for _, locale, _ in profile.locales} | {"ar_AA"})
        ):
            faker = Faker(locale)
            faker.seed_instance(seed + offset)
            self.fakers[locale] = faker
        self.languages = [language for language, _, _ in profile.locales]
        self.language_locale = {language: locale for language, locale, _ in profile.locales}
        self.language_weights = [weight for _, _, weight in profile.locales]
        # Arabic takes its share of the total; the local languages share the rest by weight.
        local_total = sum(self.language_weights)
        self.language_weights = [
            w / local_total * (1 - profile.arabic_share) for w in self.language_weights
        ]
        self.languages.append("ar")
        self.language_weights.append(profile.arabic_share)
        self.purposes = {p.code: p for p in Purpose.objects.filter(organization=org)}
        # Timelines are written by the roles that talk to people, not by the treasurer.
        talking = set(
            Membership.objects.filter(
                organization=org, user__in=staff, role__in=_TIMELINE_ROLES
            ).values_list("user_id", flat=True)
        )
        self.staff = [u for u in staff if u.pk in talking] or list(staff)
        self.now = timezone.now()
        self.counts = Counts()
        self.sequence = Contact.objects.filter(organization=org).count()
        self.tag_rows = tags_by_name(
            org,
            [name for name, _ in profile.tags]
            + [profile.district_tag.format(d.name) for d in profile.districts if d.name],
        )
        self.counts.tags = len(self.tag_rows)

    # -- the plan: mostly single people, a household every ~33 contacts, a partner every ~100

    def run(self, total: int) -> Counts:
        drafts: list[_Draft] = []
        produced = 0
        next_household = 5
        next_partner = 50
        while produced < total:
            left = total - produced
            if produced >= next_partner and left >= 2:
                group = self._partner(max_people=min(3, left - 1))
                next_partner += self.rng.randint(80, 120)
            elif produced >= next_household and left >= 3:
                group = self._household(max_members=min(4, left - 1))
                next_household += self.rng.randint(25, 40)
            else:
                group = [self._person()]
            drafts.extend(group)
            produced += len(group)
            if len(drafts) >= _CHUNK:
                self._write(drafts)
                drafts = []
        if drafts:
            self._write(drafts)
        audit.record(
            org=self.org, actor=ACTOR, code="core.demo.loaded", extra=self.counts.as_dict()
        )
        return self.counts

    # -- people

    def _language(self) -> str:
        return self.rng.choices(self.languages, self.language_weights)[0]

    def _person(
        self,
        *,
        language: str | None = None,
        family: tuple[str, str] | None = None,
        address: _Address | None = None,
        roles: list[str] | None = None,
        ages: tuple[int, int] = (18, 88),
    ) -> _Draft:
        """A person aged within `ages`; `family` is (as written, in Latin letters) to share.

        Minors get no email, phone or role of their own.
        """
        adult = ages[0] >= 18
        language = language or self._language()
        female = self.rng.random() < 0.52
        note = ""
        if language == "ar":
            given, given_latin, family_name, family_latin, note = self._arabic_name(female, family)
        else:
            faker = self.fakers[self.language_locale[language]]
            given = faker.first_name_female() if female else faker.first_name_male()
            given_latin = given
            if family is not None:
                family_name, family_latin = family
            else:
                family_name = faker.last_name()
                if self.profile.two_family_names and language in {"ca", "es"}:
                    family_name = f"{family_name} {faker.last_name()}"
                family_latin = family_name
        address = address or self._address()
        birth = self._birth_date(ages)
        contact = self._contact(
            kind=ContactKind.PERSON,
            given_name=given,
            family_name=family_name,
            name=f"{given} {family_name}",
            language=language,
            address=address,
            birth_date=birth,
            notes=note,
        )
        draft = _Draft(contact)
        if language == "ar":
            self.counts.arabic_speakers += 1
        if adult:
            draft.emails = self._emails(given_latin, family_latin)
            draft.phones = self._phones()
        if not adult:
            draft.roles = []
        else:
            draft.roles = list(roles) if roles is not None else self._roles()
        draft.tags = self._tags(address)
        if (draft.emails or draft.phones) and self.rng.random() < 0.3:
            draft.contact.preferred_channel = self._preferred_channel(draft)
        return draft

    def _arabic_name(
        self, female: bool, family: tuple[str, str] | None
    ) -> tuple[str, str, str, str, str]:
        given_ar, maghrebi, levantine = self.rng.choice(ARABIC_FEMALE if female else ARABIC_MALE)
        given_latin = maghrebi if self.profile.arabic_latin == "maghrebi" else levantine
        if family is not None:
            family_name, family_latin = family
            in_arabic = _is_arabic(family_name)
        else:
            family_ar, fam_maghrebi, fam_levantine = self.rng.choice(ARABIC_FAMILY)
            family_latin = (
                fam_maghrebi if self.profile.arabic_latin == "maghrebi" else fam_levantine
            )
            in_arabic = self.rng.random() < 0.45
            if in_arabic and self.rng.random() < 0.4:
                # A family name from Faker's Arabic locale, for variety; no Latin spelling known.
                family_ar = self.fakers["ar_AA"].last_name()
                family_latin = ""
            family_name = family_ar if in_arabic else family_latin
        if not in_arabic:
            return given_latin, given_latin, family_name, family_latin, ""
        latin_full = f"{given_latin} {family_latin}".strip()
        note_template = ARABIC_NOTE.get(self.profile.language, "Name in Latin letters: {}")
        note = note_template.format(latin_full) if family_latin else ""
        return given_ar, given_latin, family_name, family_latin, note

    def _household(self, *, max_members: int) -> list[_Draft]:
        """A household contact and 2–4 people living there, linked as household members."""
        language = self._language()
        address = self._address()
        size = self.rng.randint(2, max(2, max_members))
        parents = (28, 75)
        first = self._person(language=language, address=address, ages=parents)
        members = [first]
        family = (first.contact.family_name, self._latin_family(first))
        if self.profile.two_family_names and language in {"ca", "es"}:
            # Spanish naming: each partner keeps their names; children take both first ones.
            partner = self._person(language=language, address=address, ages=parents)
            members.append(partner)
            children_family = " ".join(
                [first.contact.family_name.split(" ")[0], partner.contact.family_name.split(" ")[0]]
            )
            family = (children_family, children_family)
        else:
            members.append(
                self._person(language=language, family=family, address=address, ages=parents)
            )
        while len(members) < size:
            ages = (18, 29) if self.rng.random() < 0.4 else (1, 17)
            members.append(
                self._person(language=language, family=family, address=address, ages=ages)
            )
        household_family = (
            family[0] if len(members) > 2 else first.contact.family_name.split(" ")[0]
        )
        word = (
            ARABIC_HOUSEHOLD_WORD
            if language == "ar" and _is_arabic(household_family)
            else self.profile.household_word
        )
        household = _Draft(
            self._contact(
                kind=ContactKind.HOUSEHOLD,
                name=f"{word} {household_family}",
                language=language,
                address=address,
            )
        )
        household.roles = ["member"] if self.rng.random() < 0.35 else []
        household.tags = self._tags(address)
        if self.rng.random() < 0.3:
            household.phones = self._phones(landline=True)
        for member in members:
            member.links.append((household, RelationshipKind.HOUSEHOLD_MEMBER))
        self.counts.households += 1
        return [household, *members]

    def _partner(self, *, max_people: int) -> list[_Draft]:
        """A partner organization and 1–3 people who work for it."""
        locale = self.profile.locales[0][1]
        faker = self.fakers[locale]
        template = self.rng.choice(self.profile.partner_templates)
        named = [d for d in self.profile.districts if d.name]
        name = template.format(
            district=self.rng.choice(named).name if named else "",
            family=faker.last_name(),
            company=faker.company(),
        )[:200]
        address = self._address()
        org = _Draft(
            self._contact(
                kind=ContactKind.ORGANIZATION,
                name=name,
                language=self.profile.language,
                address=address,
            )
        )
        domain = (_ascii_local(name)[:30] or "partner") + ".example"
        org.emails = [f"info@{domain}"]
        org.phones = self._phones(landline=True)
        org.roles = [ContactRoleKind.PARTNER]
        people = []
        for _ in range(self.rng.randint(1, max(1, max_people))):
            person = self._person(language=self.profile.language, roles=[ContactRoleKind.PARTNER])
            if person.emails:
                person.emails[0] = f"{person.emails[0].split('@')[0]}@{domain}"
            person.links.append((org, RelationshipKind.WORKS_FOR))
            people.append(person)
        self.counts.organizations += 1
        return [org, *people]

    def _contact(
        self, *, kind: str, name: str, language: str, address: _Address, **extra: Any
    ) -> Contact:
        self.sequence += 1
        created = self.now - self.rng.random() * 3 * _YEAR
        updated = created + self.rng.random() * (self.now - created)
        contact = Contact(
            organization=self.org,
            kind=kind,
            name=name,
            language=language,
            street=address.street,
            postal_code=address.postal_code,
            city=address.district.city,
            region=address.district.region or self.profile.region,
            country=self.profile.country,
            external_id=f"{self.profile.external_prefix}-{self.sequence:06d}",
            created_at=created,
            updated_at=updated,
            **extra,
        )
        contact.sort_name = sort_name_for(contact)
        return contact

    def _address(self) -> _Address:
        district = self.rng.choice(self.profile.districts)
        street = self.rng.choice(district.streets)
        number = self.rng.randint(1, 180)
        if self.profile.country == "ES":
            line = f"{street}, {number}"
            if self.rng.random() < 0.8:
                line += f", {self.rng.randint(1, 6)}r {self.rng.randint(1, 4)}a"
        elif self.profile.country == "IT":
            line = f"{street}, {number}"
        else:
            line = f"{street} {number}"
        return _Address(district, line, self.rng.choice(district.postal_codes))

    def _birth_date(self, ages: tuple[int, int]) -> datetime.date | None:
        if self.rng.random() < 0.3:
            return None
        years = self.rng.uniform(*ages)
        return (self.now - years * _YEAR).date()

    def _emails(self, given: str, family: str) -> list[str]:
        roll = self.rng.random()
        if roll < 0.18:
            return []
        first = _ascii_local(given)
        last = _ascii_local(family.split(" ")[0]) if family else ""
        if not first:
            return []
        pattern = self.rng.randrange(5)
        if not last or pattern == 0:
            local = f"{first}{self.rng.randint(1, 99)}"
        elif pattern == 1:
            local = f"{first}.{last}"
        elif pattern == 2:
            local = f"{first[0]}{last}"
        elif pattern == 3:
            local = f"{first}_{last}{self.rng.randint(60, 99)}"
        else:
            local = f"{last}.{first}"
        emails = [f"{local}@{self.rng.choice(self.profile.email_domains)}"]
        if roll > 0.88:
            emails.append(f"{first}.{last or 'home'}@{self.rng.choice(self.profile.email_domains)}")
        return list(dict.fromkeys(emails))

    def _phones(self, *, landline: bool = False) -> list[str]:
        if not landline:
            roll = self.rng.random()
            if roll < 0.22:
                return []
            numbers = [
                self._phone(
                    self.profile.landline_patterns if roll < 0.32 else self.profile.mobile_patterns
                )
            ]
            if roll > 0.92:
                numbers.append(self._phone(self.profile.landline_patterns))
            return list(dict.fromkeys(numbers))
        return [self._phone(self.profile.landline_patterns)]

    def _phone(self, patterns: Sequence[tuple[str, int]]) -> str:
        """A random number of the country that phonenumbers accepts as valid, in E.164."""
        code = phonenumbers.country_code_for_region(self.profile.country)
        for _attempt in range(50):
            prefix, digits = self.rng.choice(patterns)
            national = prefix + "".join(str(self.rng.randrange(10)) for _ in range(digits))
            number = phonenumbers.parse(f"+{code}{national}")
            if phonenumbers.is_valid_number(number):
                return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        raise RuntimeError(f"No valid phone number from {patterns!r}")  # a bad pattern in data.py

    def _roles(self) -> list[str]:
        return [role for role, share in _ROLE_SHARES if self.rng.random() < share]

    def _tags(self, address: _Address) -> list[str]:
        tags = [name for name, share in self.profile.tags if self.rng.random() < share]
        if address.district.name and self.rng.random() < 0.6:
            tags.append(self.profile.district_tag.format(address.district.name))
        return tags

    def _preferred_channel(self, draft: _Draft) -> str:
        options = []
        if draft.emails:
            options += [Channel.EMAIL] * 3
        if draft.phones:
            options += [Channel.WHATSAPP, Channel.WHATSAPP, Channel.SMS, Channel.PHONE]
        if draft.contact.street:
            options.append(Channel.POST)
        return self.rng.choice(options)

    # -- writing one chunk

    def _latin_family(self, draft: _Draft) -> str:
        family = draft.contact.family_name
        if not _is_arabic(family):
            return family
        for arabic, maghrebi, levantine in ARABIC_FAMILY:
            if arabic == family:
                return maghrebi if self.profile.arabic_latin == "maghrebi" else levantine
        return ""

    def _write(self, drafts: list[_Draft]) -> None:
        Contact.objects.bulk_create([d.contact for d in drafts], batch_size=1000)
        org_id = self.org.pk
        emails, phones, contact_tags, roles, links, terms = [], [], [], [], [], []
        activities: list[Activity] = []
        consents: list[ConsentEvent] = []
        for d in drafts:
            c = d.contact
            emails += [
                ContactEmail(organization_id=org_id, contact=c, email=e, position=i)
                for i, e in enumerate(d.emails)
            ]
            phones += [
                ContactPhone(organization_id=org_id, contact=c, number=p, position=i)
                for i, p in enumerate(d.phones)
            ]
            contact_tags += [
                ContactTag(organization_id=org_id, contact=c, tag=self.tag_rows[name])
                for name in dict.fromkeys(d.tags)
            ]
            since_span = (self.now - c.created_at).days
            roles += [
                ContactRole(
                    organization_id=org_id,
                    contact=c,
                    role=role,
                    since=(
                        c.created_at + datetime.timedelta(days=self.rng.randint(0, since_span))
                    ).date(),
                )
                for role in dict.fromkeys(d.roles)
            ]
            links += [
                Relationship(
                    organization_id=org_id,
                    from_contact=c,
                    to_contact=to.contact,
                    kind=kind,
                    created_at=c.created_at,
                )
                for to, kind in d.links
            ]
            terms += search_rows(c, d.emails, d.phones)
            activities += self._activities(d)
            consents += self._consents(d)
        for model, rows in (
            (ContactEmail, emails),
            (ContactPhone, phones),
            (ContactTag, contact_tags),
            (ContactRole, roles),
            (Relationship, links),
            (SearchTerm, terms),
            (Activity, activities),
            (ConsentEvent, consents),
        ):
            model.objects.bulk_create(rows, batch_size=2000)
        counts = self.counts
        counts.contacts += len(drafts)
        counts.emails += len(emails)
        counts.phones += len(phones)
        counts.contact_tags += len(contact_tags)
        counts.roles += len(roles)
        counts.relationships += len(links)
        counts.search_terms += len(terms)
        counts.activities += len(activities)
        counts.consent_events += len(consents)

    def _activities(self, draft: _Draft) -> list[Activity]:
        contact = draft.contact
        if contact.kind == ContactKind.HOUSEHOLD:
            return []
        words = self.profile.activities
        count = self.rng.choices(range(len(_ACTIVITY_COUNT_WEIGHTS)), _ACTIVITY_COUNT_WEIGHTS)[0]
        rows = []
        for _ in range(count):
            kind = self.rng.choices(
                (ActivityKind.NOTE, ActivityKind.CALL, ActivityKind.MEETING), (40, 35, 25)
            )[0]
            subjects = {"note": words.note, "call": words.call, "meeting": words.meeting}[kind]
            occurred = self.now - self.rng.random() * 2 * _YEAR
            rows.append(
                Activity(
                    organization_id=self.org.pk,
                    contact=contact,
                    kind=kind,
                    subject=self.rng.choice(subjects),
                    body=self.rng.choice(words.bodies) if self.rng.random() < 0.4 else "",
                    occurred_at=occurred,
                    actor=self.rng.choice(self.staff) if self.staff else None,
                    created_at=occurred,
                )
            )
        return rows

    def _consents(self, draft: _Draft) -> list[ConsentEvent]:
        """Grants, refusals and later withdrawals, as people give them on forms."""
        if draft.contact.kind == ContactKind.ORGANIZATION:
            return []
        roles = set(draft.roles)
        has_email, has_phone = bool(draft.emails), bool(draft.phones)
        wishes: list[tuple[str, str, float]] = []
        if has_email:
            wishes.append(("newsletter", Channel.EMAIL, 0.75))
        if ContactRoleKind.DONOR in roles:
            if has_email:
                wishes += [
                    ("fundraising", Channel.EMAIL, 0.5),
                    ("project_updates", Channel.EMAIL, 0.35),
                ]
            if draft.contact.street:
                wishes.append(("fundraising", Channel.POST, 0.25))
            if has_phone:
                wishes.append(("fundraising", Channel.PHONE, 0.08))
        if ContactRoleKind.MEMBER in roles and has_email:
            wishes.append(("project_updates", Channel.EMAIL, 0.4))
        if ContactRoleKind.VOLUNTEER in roles and has_phone:
            wishes += [("volunteering", Channel.WHATSAPP, 0.6), ("volunteering", Channel.SMS, 0.2)]
        if ContactRoleKind.BENEFICIARY in roles and has_phone:
            wishes += [("service", Channel.SMS, 0.7), ("service", Channel.WHATSAPP, 0.4)]
        shares: dict[tuple[str, str], float] = {}
        for purpose, channel, share in wishes:
            shares[purpose, channel] = max(share, shares.get((purpose, channel), 0.0))
        rows = []
        for (purpose, channel), share in shares.items():
            roll = self.rng.random()
            if roll >= share + 0.05:
                continue
            granted = roll < share  # the last 5 points: a box left unticked on the form
            source = self.rng.choices(_SOURCES, _SOURCE_WEIGHTS)[0]
            at = self._consent_time(draft.contact, source)
            rows.append(self._consent(draft.contact, purpose, channel, granted, source, at))
            if granted and self.rng.random() < 0.12:
                later = at + self.rng.random() * (self.now - at)
                rows.append(
                    self._consent(draft.contact, purpose, channel, False, "web form", later)
                )
        return rows

    def _consent_time(self, contact: Contact, source: str) -> datetime.datetime:
        if source == "import":  # collected before the organization used Solidaria
            return contact.created_at - self.rng.random() * _YEAR
        return contact.created_at + self.rng.random() * (self.now - contact.created_at)

    def _consent(
        self,
        contact: Contact,
        purpose: str,
        channel: str,
        granted: bool,
        source: str,
        at: datetime.datetime,
    ) -> ConsentEvent:
        if source == "paper form":  # typed in a few days after it was signed
            recorded = min(self.now, at + datetime.timedelta(days=self.rng.randint(1, 10)))
        elif source == "import":
            recorded = contact.created_at
        else:
            recorded = at
        year = at.year
        return ConsentEvent(
            organization_id=self.org.pk,
            contact=contact,
            purpose=self.purposes[purpose],
            channel=channel,
            granted=granted,
            lawful_basis=LawfulBasis.CONSENT,
            source=source,
            wording_version=f"{year}-{1 if at.month <= 6 else 2}",
            at=at,
            recorded_at=recorded,
        )


def _is_arabic(text: str) -> bool:
    return any("\u0600" <= ch <= "\u06ff" for ch in text)


def _ascii_local(text: str) -> str:
    """A name as the local part of an email address: “Núria Puig” → “nuriapuig”."""
    return _NOT_LOCAL.sub("", fold(text))
