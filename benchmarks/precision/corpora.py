"""The pinned real projects that precision is measured on: sdists from the package index (a wheel where
the pinned release has no sdist)."""

from __future__ import annotations

import hashlib
import json
import tarfile
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

#: (distribution, version, folder the sdist unpacks to). Pinned so that a measurement can be repeated.
PROJECTS: tuple[tuple[str, str, str], ...] = (
    ("django", "5.2.8", "django-5.2.8"),
    ("pretalx", "2025.1.0", "pretalx-2025.1.0"),
    ("django-cms", "5.0.1", "django_cms-5.0.1"),
    ("django-allauth", "65.12.0", "django_allauth-65.12.0"),
    ("djangorestframework", "3.16.1", "djangorestframework-3.16.1"),
    ("label-studio", "1.21.0", "label_studio-1.21.0"),
    ("misago", "0.39.1", "misago-0.39.1"),
    ("wagtail", "7.1.1", "wagtail-7.1.1"),
    ("django-oscar", "3.2.6", "django_oscar-3.2.6"),
    ("pretix", "2026.8.0", "pretix-2026.8.0"),
    ("weblate", "2026.10.1", "weblate-2026.10.1"),
    ("mayan-edms", "4.12.2", "mayan_edms-4.12.2"),
    ("dj-stripe", "2.11.0", "dj_stripe-2.11.0"),
    ("django-q2", "1.11.1", "django_q2-1.11.1"),
    ("django-cacheops", "7.2", "django_cacheops-7.2"),
    # Held out: never read while the rules were tuned (see HELD_OUT).
    ("nautobot", "3.2.7", "nautobot-3.2.7"),
    ("pulpcore", "3.123.1", "pulpcore-3.123.1"),
    ("django-oauth-toolkit", "3.4.1", "django_oauth_toolkit-3.4.1"),
    ("netbox", "4.7.3", "netbox-4.7.3"),
    ("hyperkitty", "1.3.12", "hyperkitty-1.3.12"),
    ("postorius", "1.3.13", "postorius-1.3.13"),
    ("django-helpdesk", "2.6.1", "django_helpdesk-2.6.1"),
    ("openwisp-controller", "1.3.2", "openwisp_controller-1.3.2"),
    # No sdist on the index: its wheel (pure Python, the same sources less the tests) is unpacked.
    ("sentry", "23.7.1", "sentry-23.7.1"),
    ("saleor", "2.10.1", "saleor-2.10.1"),
    ("edx-enterprise", "8.18.0", "edx_enterprise-8.18.0"),
    ("shuup", "1.6.0", "shuup-1.6.0"),
    ("kolibri", "0.19.5", "kolibri-0.19.5"),
    ("arches", "8.1.5", "arches-8.1.5"),
    ("galaxy-ng", "4.9.2", "galaxy-ng-4.9.2"),
    ("geonode", "5.1.1", "geonode-5.1.1"),  # a wheel only
    ("kiwitcms", "12.4", "kiwitcms-12.4"),
    ("wger", "2.1", "wger-2.1"),
    ("evennia", "5.0.1", "evennia-5.0.1"),
    ("ReviewBoard", "8.1", "reviewboard-8.1"),
    ("tendenci", "16.30", "tendenci-16.30"),
    ("modoboa", "2.12.0", "modoboa-2.12.0"),
)

#: Projects added to measure the rules on code they were not tuned on: their first-run figures
#: (judged as found, before any fix) are kept apart in `verdicts/held_out_first_run.json`.
HELD_OUT: frozenset[str] = frozenset(
    {
        "nautobot",
        "pulpcore",
        "django-oauth-toolkit",
        "netbox",
        "hyperkitty",
        "postorius",
        "django-helpdesk",
        "openwisp-controller",
        "sentry",
        "saleor",
        "edx-enterprise",
        "shuup",
        "kolibri",
        "arches",
        "galaxy-ng",
        "geonode",
        "kiwitcms",
        "wger",
        "evennia",
        "ReviewBoard",
        "tendenci",
        "modoboa",
    }
)

#: Projects published as a wheel only at the pinned version: unpacked into their folder.
WHEEL_ONLY: frozenset[str] = frozenset({"sentry", "geonode"})

#: What a user of the project would configure, where the defaults leave a rule nothing to judge:
#: RP601-RP604 need to know which calls cost money, and no pinned project defines a quota guard
#: (RP504's knowledge), so by default nothing is paid. Each is the paid API the project calls from
#: its views or tasks, named as its code calls it. `run.py` passes it with `--config`.
_PAID = "paid-calls = {calls}\n"
PAID_CALLS: dict[str, str] = {
    # The Stripe plugin creates and confirms payment intents and sources from checkout views.
    "pretix": '["stripe.*"]',
    # Stripe objects are fetched, created and synced from the admin, webhooks and models.
    "dj-stripe": '["stripe.*"]',
    # Machine translation: each service class downloads translations from an API billed per
    # character (DeepL, Google, OpenAI, Azure...); its other requests (language and model lists) are free.
    "weblate": '["weblate.machinery.*.download_translations", "weblate.machinery.*.download_multiple_translations"]',
}


#: The Django release of projects whose tree declares none where the tool reads it (a wheel's
#: requirements are in its METADATA): what the project's repository pins.
DJANGO_VERSIONS: dict[str, str] = {"sentry": "3.2", "geonode": "5.2"}  # Requires-Dist: Django (==3.2.20, ==5.2.18)


def config_for(name: str) -> str | None:
    """The `[tool.review-patterns]` settings a user of `name` would write, else None (the defaults)."""
    calls = PAID_CALLS.get(name)
    version = DJANGO_VERSIONS.get(name)
    if calls is None and version is None:
        return None
    settings = f'[tool.review-patterns]\ndjango-version = "{version}"\n' if version is not None else ""
    if calls is not None:
        settings += "".join(
            f"[tool.review-patterns.{code}]\n" + _PAID.format(calls=calls) for code in ("rp601", "rp602", "rp604")
        )
    return settings


INDEX = "https://pypi.org/pypi"


def sdist_url(name: str, version: str, kind: str = "sdist") -> tuple[str, str]:
    """The sdist's (or wheel's: `kind="bdist_wheel"`) address and sha256 digest, from the index's
    JSON API (the project's page: the per-release page is not served by every mirror)."""
    page = f"{INDEX}/{name}/json"
    with urllib.request.urlopen(page, timeout=60) as response:
        files = json.load(response)["releases"].get(version, [])
    for file in files:
        if file["packagetype"] == kind:
            return urllib.parse.urljoin(page, file["url"]), file["digests"]["sha256"]
    raise SystemExit(f"{name} {version} has no {kind} on the index")


def fetch(into: Path) -> None:
    """Downloads and unpacks every pinned sdist (or wheel, `WHEEL_ONLY`) missing from `into`.

    The archive is fetched as a file, never through `pip download`: pip prepares the metadata,
    which means building, and some projects' build dependencies (pretix, weblate) conflict.
    """
    archives = into / "sdist"
    archives.mkdir(parents=True, exist_ok=True)
    for name, version, folder in PROJECTS:
        if (into / folder).is_dir():
            continue
        url, sha256 = sdist_url(name, version, "bdist_wheel" if name in WHEEL_ONLY else "sdist")
        archive = archives / url.rsplit("/", 1)[-1]
        if not archive.is_file() or hashlib.sha256(archive.read_bytes()).hexdigest() != sha256:
            with urllib.request.urlopen(url, timeout=300) as response:
                data = response.read()
            if hashlib.sha256(data).hexdigest() != sha256:
                raise SystemExit(f"{archive.name}: sha256 differs from the index's")
            archive.write_bytes(data)
        if name in WHEEL_ONLY:
            with zipfile.ZipFile(archive) as wheel:
                wheel.extractall(into / folder)
        else:
            with tarfile.open(archive) as tar:
                tar.extractall(into, filter="data")
        if not (into / folder).is_dir():
            raise SystemExit(f"{archive.name} did not unpack to {folder}")
