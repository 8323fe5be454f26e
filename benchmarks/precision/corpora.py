"""The pinned real projects that precision is measured on: sdists from the package index."""

from __future__ import annotations

import subprocess
import sys
import tarfile
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
)


def fetch(into: Path) -> None:
    """Downloads and unpacks every pinned sdist missing from `into` (`pip download`, no build)."""
    into.mkdir(parents=True, exist_ok=True)
    archives = into / "sdist"
    for name, version, folder in PROJECTS:
        if (into / folder).is_dir():
            continue
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--no-binary",
                ":all:",
                "-d",
                str(archives),
                f"{name}=={version}",
            ],
            check=True,
        )
        for archive in archives.glob("*.tar.gz"):
            if archive.name.lower().startswith(folder.lower()):
                with tarfile.open(archive) as tar:
                    tar.extractall(into, filter="data")
