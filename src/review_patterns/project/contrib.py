"""The shipped description of Django's contrib models, standing in when Django is not importable
(written by scripts/contrib_models.py): one per Django release, each module reduced to its models."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path


@cache
def _bundled() -> dict[str, dict[str, str]]:
    """Django version -> module -> reduced source of the contrib apps' models (scripts/contrib_models.py)."""
    data = Path(__file__).with_name("django_contrib.json").read_text(encoding="utf-8")  # as checks/rules.json
    loaded: dict[str, dict[str, str]] = json.loads(data)
    return loaded


def contrib_version(version: tuple[int, int] | None) -> str:
    """The shipped release ("5.2") whose contrib models stand in for Django `version`: that release,
    else the newest shipped one before it, else the oldest shipped; the newest when `version` is unknown."""
    shipped = sorted(tuple(int(p) for p in v.split(".")) for v in _bundled())
    if version is None:
        chosen = shipped[-1]
    else:
        chosen = max((v for v in shipped if v <= version), default=shipped[0])
    return ".".join(map(str, chosen))


def bundled_django_module(name: str, version: str | None = None) -> str | None:
    """The shipped description of a Django contrib models module, for when Django is not importable:
    that of `version` ("5.2", a shipped release; see `contrib_version`), or of the newest shipped."""
    versions = _bundled()
    return versions[version if version in versions else contrib_version(None)].get(name)
