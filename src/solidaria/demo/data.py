"""The demo network's fixed material: organizations, neighbourhoods, tags, words.

Street names are real streets of each city; house numbers, people and phone numbers are
invented. Email domains are reserved for examples (RFC 2606 / RFC 6761), so a demo that is
wired to a real mail server cannot write to anyone.
"""

from dataclasses import dataclass

NETWORK_SLUG = "xarxa-solidaria"
NETWORK_NAME = "Xarxa Solidària"
DEMO_PASSWORD = "solidaria-demo"  # noqa: S105 (published on purpose: it is the demo's login)
COORDINATOR_EMAIL = "coordinator@xarxa-solidaria.demo"


@dataclass(frozen=True)
class District:
    name: str  # as the neighbourhood tag shows it ("" for towns around the city)
    city: str
    postal_codes: tuple[str, ...]
    streets: tuple[str, ...]
    region: str = ""  # when it differs from the organization's region


@dataclass(frozen=True)
class ActivityWords:
    note: tuple[str, ...]
    call: tuple[str, ...]
    meeting: tuple[str, ...]
    bodies: tuple[str, ...]


@dataclass(frozen=True)
class Profile:
    """Everything that makes one demo organization look like it lives where it lives."""

    slug: str
    name: str
    country: str
    currency: str
    language: str
    time_zone: str
    region: str
    external_prefix: str
    # (language, Faker locale, weight) for the people of the area; Arabic is added apart.
    locales: tuple[tuple[str, str, int], ...]
    arabic_share: float
    # Arabic names written in Latin letters follow the local habit: Maghrebi or Levantine.
    arabic_latin: str
    two_family_names: bool
    districts: tuple[District, ...]
    district_tag: str  # "barri {}", "quartiere {}", "Kiez {}"
    tags: tuple[tuple[str, float], ...]  # (tag, share of contacts)
    email_domains: tuple[str, ...]
    household_word: str
    partner_templates: tuple[str, ...]
    activities: ActivityWords
    # National numbers (without the leading 0 where the country has one): a prefix and how
    # many random digits follow it. Each result is checked with phonenumbers.
    mobile_patterns: tuple[tuple[str, int], ...]
    landline_patterns: tuple[tuple[str, int], ...]


BARCELONA = Profile(
    slug="coop-barcelona",
    name="Cooperativa Teixit Solidari",
    country="ES",
    currency="EUR",
    language="ca",
    time_zone="Europe/Madrid",
    region="Barcelona",
    external_prefix="CB",
    locales=(("ca", "es_CA", 52), ("es", "es_ES", 36), ("fr", "fr_FR", 5), ("en", "en_GB", 3)),
    arabic_share=0.08,
    arabic_latin="maghrebi",
    two_family_names=True,
    districts=(
        District(
            "Gràcia",
            "Barcelona",
            ("08012", "08024", "08025"),
            (
                "Carrer Gran de Gràcia",
                "Carrer de Verdi",
                "Travessera de Gràcia",
                "Carrer de Torrijos",
                "Carrer del Torrent de l'Olla",
                "Carrer de Bonavista",
            ),
        ),
        District(
            "Raval",
            "Barcelona",
            ("08001",),
            (
                "Carrer de la Riera Baixa",
                "Carrer de Joaquín Costa",
                "Carrer de l'Hospital",
                "Carrer del Carme",
                "Rambla del Raval",
            ),
        ),
        District(
            "Sants",
            "Barcelona",
            ("08014", "08028"),
            (
                "Carrer de Sants",
                "Carrer de Galileu",
                "Carrer de Premià",
                "Carrer d'Olzinelles",
                "Carrer de Sant Antoni",
            ),
        ),
        District(
            "Poble-sec",
            "Barcelona",
            ("08004",),
            (
                "Carrer de Blai",
                "Carrer de Margarit",
                "Avinguda del Paral·lel",
                "Carrer de Nou de la Rambla",
            ),
        ),
        District(
            "Nou Barris",
            "Barcelona",
            ("08031", "08033", "08042"),
            (
                "Passeig de Fabra i Puig",
                "Via Júlia",
                "Carrer de Costa i Cuxart",
                "Carrer de Cartellà",
            ),
        ),
        District(
            "Sant Andreu",
            "Barcelona",
            ("08030",),
            (
                "Carrer Gran de Sant Andreu",
                "Carrer de Pons i Gallarza",
                "Passeig de Torras i Bages",
            ),
        ),
        District(
            "Poblenou",
            "Barcelona",
            ("08005",),
            ("Rambla del Poblenou", "Carrer de Pujades", "Carrer de Pere IV", "Carrer de Llull"),
        ),
        District(
            "",
            "L'Hospitalet de Llobregat",
            ("08901", "08904", "08906"),
            ("Rambla de Just Oliveras", "Carrer de Collblanc", "Carrer d'Enric Prat de la Riba"),
        ),
        District(
            "",
            "Badalona",
            ("08911", "08914"),
            ("Carrer del Mar", "Avinguda de Martí Pujol", "Carrer de Francesc Layret"),
        ),
    ),
    district_tag="barri {}",
    tags=(
        ("newsletter 2025", 0.35),
        ("voluntariat", 0.12),
        ("soci fundador", 0.03),
        ("assemblea 2025", 0.10),
        ("festa major 2024", 0.08),
        ("menjador social", 0.06),
        ("classes de català", 0.05),
        ("campanya hivern", 0.07),
        ("botiga de barri", 0.04),
    ),
    email_domains=("correu.example", "example.org", "example.com", "mail.example"),
    household_word="Família",
    partner_templates=(
        "Casal de Barri {district}",
        "Escola {family}",
        "Fundació {family}",
        "{company}",
    ),
    activities=ActivityWords(
        note=(
            "Ha canviat d'adreça",
            "Prefereix que la truquem a la tarda",
            "Interès pel voluntariat del menjador",
            "Ha portat roba per a la campanya d'hivern",
            "Demana informació sobre la quota de sòcia",
            "Vol rebre el butlletí en paper",
        ),
        call=(
            "Trucada d'agraïment per la donació",
            "Trucada per confirmar l'assemblea",
            "Seguiment de la sol·licitud d'ajuda",
            "Trucada per renovar la quota",
            "Trucada sobre els torns de voluntariat",
        ),
        meeting=(
            "Reunió d'acollida",
            "Entrevista de voluntariat",
            "Reunió de seguiment",
            "Visita a la botiga cooperativa",
            "Reunió amb l'escola del barri",
        ),
        bodies=(
            "Tot correcte, ho tornem a parlar el mes que ve.",
            "Cal enviar-li la documentació per correu.",
            "Molt contenta amb l'activitat; vol portar una amiga.",
            "Pendent de confirmar l'horari.",
        ),
    ),
    mobile_patterns=(("6", 8), ("71", 7), ("72", 7)),
    landline_patterns=(("93", 7),),
)

MILANO = Profile(
    slug="assoc-milano",
    name="Associazione Ponti Aperti",
    country="IT",
    currency="EUR",
    language="it",
    time_zone="Europe/Rome",
    region="MI",
    external_prefix="AM",
    locales=(("it", "it_IT", 86), ("fr", "fr_FR", 3), ("en", "en_GB", 3)),
    arabic_share=0.08,
    arabic_latin="maghrebi",
    two_family_names=False,
    districts=(
        District(
            "Isola",
            "Milano",
            ("20159",),
            ("Via Pastrengo", "Via Borsieri", "Via Carmagnola", "Via Thaon di Revel"),
        ),
        District(
            "NoLo",
            "Milano",
            ("20127", "20132"),
            ("Via Padova", "Viale Monza", "Via Arquà", "Via Varanini"),
        ),
        District(
            "Giambellino",
            "Milano",
            ("20146", "20147"),
            ("Via Giambellino", "Via Lorenteggio", "Via Odazio", "Via Inganni"),
        ),
        District(
            "Corvetto",
            "Milano",
            ("20137", "20139"),
            ("Via dei Cinquecento", "Viale Omero", "Via Mompiani", "Piazzale Gabrio Rosa"),
        ),
        District(
            "Porta Venezia",
            "Milano",
            ("20124", "20129"),
            ("Corso Buenos Aires", "Via Lecco", "Via Lazzaretto", "Via Panfilo Castaldi"),
        ),
        District(
            "San Siro",
            "Milano",
            ("20148", "20151"),
            ("Piazzale Selinunte", "Via Zamagna", "Via Preneste", "Via Paravia"),
        ),
        District(
            "Quarto Oggiaro",
            "Milano",
            ("20157",),
            ("Via Pascarella", "Via Lopez", "Via Carlo Amoretti"),
        ),
        District(
            "",
            "Sesto San Giovanni",
            ("20099",),
            ("Viale Antonio Gramsci", "Viale Italia", "Via Ercole Marelli"),
        ),
    ),
    district_tag="quartiere {}",
    tags=(
        ("newsletter 2025", 0.33),
        ("volontariato", 0.12),
        ("socio fondatore", 0.03),
        ("doposcuola", 0.06),
        ("banco alimentare", 0.07),
        ("corso di italiano", 0.05),
        ("festa di quartiere 2024", 0.08),
        ("raccolta fondi Natale", 0.09),
        ("sportello legale", 0.04),
    ),
    email_domains=("posta.example", "example.org", "example.com", "mail.example"),
    household_word="Famiglia",
    partner_templates=(
        "Comitato inquilini {district}",
        "Scuola primaria {family}",
        "Fondazione {family}",
        "{company}",
    ),
    activities=ActivityWords(
        note=(
            "Ha cambiato indirizzo",
            "Preferisce le chiamate nel pomeriggio",
            "Interesse per il doposcuola",
            "Ha portato vestiti per la raccolta invernale",
            "Chiede informazioni sulla quota associativa",
            "Vuole ricevere il notiziario su carta",
        ),
        call=(
            "Telefonata di ringraziamento per la donazione",
            "Chiamata per confermare l'assemblea",
            "Aggiornamento sulla richiesta di aiuto",
            "Promemoria rinnovo tessera",
            "Chiamata sui turni di volontariato",
        ),
        meeting=(
            "Colloquio di accoglienza",
            "Colloquio per il volontariato",
            "Incontro di verifica del percorso",
            "Incontro allo sportello legale",
            "Riunione con la scuola del quartiere",
        ),
        bodies=(
            "Tutto bene, ci risentiamo il mese prossimo.",
            "Da inviare la documentazione per email.",
            "Molto contenta dell'attività; vuole portare un'amica.",
            "Orario da confermare.",
        ),
    ),
    mobile_patterns=(("32", 8), ("33", 8), ("34", 8), ("34", 8), ("39", 8)),
    landline_patterns=(("02", 8),),
)

BERLIN = Profile(
    slug="verein-berlin",
    name="Nachbarschaftshilfe Brücke e.V.",
    country="DE",
    currency="EUR",
    language="de",
    time_zone="Europe/Berlin",
    region="Berlin",
    external_prefix="VB",
    locales=(("de", "de_DE", 85), ("en", "en_GB", 5), ("fr", "fr_FR", 2)),
    arabic_share=0.09,
    arabic_latin="levantine",
    two_family_names=False,
    districts=(
        District(
            "Neukölln",
            "Berlin",
            ("12043", "12045", "12047"),
            ("Sonnenallee", "Karl-Marx-Straße", "Weserstraße", "Hermannstraße", "Pannierstraße"),
        ),
        District(
            "Kreuzberg",
            "Berlin",
            ("10961", "10997", "10999"),
            (
                "Oranienstraße",
                "Wrangelstraße",
                "Skalitzer Straße",
                "Bergmannstraße",
                "Reichenberger Straße",
            ),
        ),
        District(
            "Wedding",
            "Berlin",
            ("13347", "13353", "13357"),
            ("Müllerstraße", "Seestraße", "Prinzenallee", "Badstraße"),
        ),
        District(
            "Moabit",
            "Berlin",
            ("10551", "10553", "10555"),
            ("Turmstraße", "Beusselstraße", "Huttenstraße", "Waldstraße"),
        ),
        District(
            "Friedrichshain",
            "Berlin",
            ("10243", "10245", "10247"),
            ("Frankfurter Allee", "Boxhagener Straße", "Simon-Dach-Straße", "Warschauer Straße"),
        ),
        District(
            "Schöneberg",
            "Berlin",
            ("10777", "10781", "10827"),
            ("Potsdamer Straße", "Goltzstraße", "Hauptstraße", "Akazienstraße"),
        ),
        District(
            "Marzahn",
            "Berlin",
            ("12679", "12681", "12685"),
            ("Marzahner Promenade", "Allee der Kosmonauten", "Raoul-Wallenberg-Straße"),
        ),
        District(
            "",
            "Potsdam",
            ("14467", "14469"),
            ("Brandenburger Straße", "Friedrich-Ebert-Straße", "Zeppelinstraße"),
            region="Brandenburg",
        ),
    ),
    district_tag="Kiez {}",
    tags=(
        ("Newsletter 2025", 0.34),
        ("Ehrenamt", 0.13),
        ("Gründungsmitglied", 0.03),
        ("Tafel", 0.07),
        ("Deutschkurs", 0.06),
        ("Hausaufgabenhilfe", 0.05),
        ("Sommerfest 2024", 0.08),
        ("Spendenaktion Winter", 0.09),
        ("Mieterberatung", 0.04),
    ),
    email_domains=("post.example", "example.org", "example.com", "mail.example"),
    household_word="Familie",
    partner_templates=(
        "Mieterinitiative {district}",
        "Grundschule {family}",
        "Stiftung {family}",
        "{company}",
    ),
    activities=ActivityWords(
        note=(
            "Neue Adresse mitgeteilt",
            "Lieber nachmittags anrufen",
            "Interesse an der Hausaufgabenhilfe",
            "Hat Kleidung für die Winteraktion gebracht",
            "Fragt nach dem Mitgliedsbeitrag",
            "Möchte den Rundbrief auf Papier",
        ),
        call=(
            "Dankesanruf für die Spende",
            "Einladung zur Mitgliederversammlung",
            "Rückfrage zum Hilfeantrag",
            "Erinnerung an den Mitgliedsbeitrag",
            "Anruf wegen der Ehrenamtsschichten",
        ),
        meeting=(
            "Erstgespräch",
            "Kennenlerngespräch Ehrenamt",
            "Folgetermin Beratung",
            "Termin in der Mieterberatung",
            "Treffen mit der Schule im Kiez",
        ),
        bodies=(
            "Alles in Ordnung, wir melden uns nächsten Monat wieder.",
            "Unterlagen per E-Mail schicken.",
            "Sehr zufrieden; möchte eine Freundin mitbringen.",
            "Termin noch offen.",
        ),
    ),
    mobile_patterns=(
        ("151", 8),
        ("152", 8),
        ("157", 8),
        ("160", 7),
        ("162", 7),
        ("170", 7),
        ("171", 7),
        ("176", 8),
    ),
    landline_patterns=(("30", 8),),
)

PROFILES: tuple[Profile, ...] = (BARCELONA, MILANO, BERLIN)
PROFILES_BY_SLUG = {profile.slug: profile for profile in PROFILES}

# Arabic given and family names with the two usual Latin spellings: Maghrebi (as written
# on Spanish, Italian or French papers) and Levantine (as on German ones).
ARABIC_MALE = (
    ("محمد", "Mohamed", "Mohammad"),
    ("أحمد", "Ahmed", "Ahmad"),
    ("يوسف", "Youssef", "Yousef"),
    ("عمر", "Omar", "Omar"),
    ("خالد", "Khalid", "Khaled"),
    ("حسن", "Hassan", "Hasan"),
    ("إبراهيم", "Brahim", "Ibrahim"),
    ("سعيد", "Said", "Saeed"),
    ("كريم", "Karim", "Kareem"),
    ("مصطفى", "Mustapha", "Mustafa"),
    ("رشيد", "Rachid", "Rashid"),
    ("عبد الله", "Abdellah", "Abdullah"),
    ("حمزة", "Hamza", "Hamza"),
    ("ياسين", "Yassine", "Yasin"),
    ("طارق", "Tarik", "Tareq"),
    ("بلال", "Bilal", "Bilal"),
    ("أنس", "Anas", "Anas"),
    ("نبيل", "Nabil", "Nabil"),
    ("سمير", "Samir", "Samir"),
    ("علي", "Ali", "Ali"),
)
ARABIC_FEMALE = (
    ("فاطمة", "Fatima", "Fatima"),
    ("خديجة", "Khadija", "Khadija"),
    ("مريم", "Meryem", "Maryam"),
    ("عائشة", "Aicha", "Aisha"),
    ("نادية", "Nadia", "Nadia"),
    ("سلمى", "Salma", "Salma"),
    ("ليلى", "Leila", "Layla"),
    ("أمينة", "Amina", "Amina"),
    ("زينب", "Zineb", "Zainab"),
    ("سارة", "Sara", "Sara"),
    ("هدى", "Houda", "Huda"),
    ("نور", "Nour", "Nour"),
    ("إيمان", "Imane", "Iman"),
    ("رانيا", "Rania", "Rania"),
    ("ياسمين", "Yasmine", "Yasmin"),
    ("حنان", "Hanane", "Hanan"),
    ("سعاد", "Souad", "Suad"),
    ("لبنى", "Loubna", "Lubna"),
)
ARABIC_FAMILY = (
    ("العمراني", "El Amrani", "Al-Amrani"),
    ("الإدريسي", "El Idrissi", "Al-Idrisi"),
    ("بنعلي", "Benali", "Ben Ali"),
    ("الحسني", "El Hassani", "Al-Hassani"),
    ("التازي", "Tazi", "Al-Tazi"),
    ("العلوي", "Alaoui", "Al-Alawi"),
    ("بوزيد", "Bouzid", "Bouzid"),
    ("الشامي", "Chami", "Al-Shami"),
    ("حداد", "Haddad", "Haddad"),
    ("خوري", "Khoury", "Khoury"),
    ("نصر", "Nasr", "Nasr"),
    ("المصري", "El Masri", "Al-Masri"),
    ("الحلبي", "Halabi", "Al-Halabi"),
    ("سليمان", "Slimane", "Suleiman"),
    ("اليوسفي", "Youssfi", "Al-Yousefi"),
    ("بنعمر", "Benomar", "Bin Omar"),
    ("قاسم", "Kacem", "Qasim"),
    ("منصور", "Mansour", "Mansour"),
    ("صالح", "Saleh", "Saleh"),
    ("العثماني", "Othmani", "Al-Othmani"),
    ("زروال", "Zeroual", "Zarwal"),
    ("درويش", "Derouiche", "Darwish"),
    ("عيسى", "Aissa", "Issa"),
    ("الخطيب", "El Khatib", "Al-Khatib"),
)
ARABIC_HOUSEHOLD_WORD = "عائلة"
ARABIC_NOTE = {
    "ca": "Nom en lletres llatines: {}",
    "it": "Nome in caratteri latini: {}",
    "de": "Name in lateinischer Schrift: {}",
}
