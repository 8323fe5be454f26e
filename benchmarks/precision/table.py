"""Builds README.md (the precision tables) from the judged samples in verdicts/*.csv.

python benchmarks/precision/table.py [--first-run PROJECT ...]

`--first-run` records, before any rule is changed for them, the figures of newly judged held-out
projects (`corpora.HELD_OUT`) in `verdicts/held_out_first_run.json`: the held-out table shows
them beside the figures the verdicts give now. A project already recorded keeps its first run.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

from corpora import HELD_OUT, PROJECTS, WHEEL_ONLY

HERE = Path(__file__).resolve().parent


def total(count: int | dict[str, int]) -> int:
    """A rule's findings: one number (an earlier run) or one per project."""
    return count if isinstance(count, int) else sum(count.values())


#: What the rows do not cover yet (keep it true when re-measuring).
COVERAGE = """
Coverage: the RP1xx-RP5xx rows cover every project above. A rule with no finding has no
measured precision.

RP601, RP602 and RP604 find nothing with the defaults: no pinned project defines a quota guard, so
nothing is paid. Their rows are measured with what a user of the project would configure, the paid
API its views and tasks call (`corpora.PAID_CALLS`, passed by `run.py` with `--config`): pretix and
dj-stripe with `paid-calls = ["stripe.*"]`, weblate with its per-character translation downloads
(`weblate.machinery.*.download_translations`, `...download_multiple_translations`). Weblate was
checked with that configuration on its machinery modules (0 findings: its views reach a service
through the `MACHINERY` registry, which is not followed, and its translation cache is read and
written in different methods); its full run is not in the counts yet. The RP6xx rows also cover
label-studio, misago, pretalx, djangorestframework and django-oscar (RP604: the first three),
and, with the defaults, the held-out nautobot, pulpcore and django-oauth-toolkit: none of them
calls an API billed per call (nautobot reaches network devices and GitHub's release list,
pulpcore the content remotes its users configure, django-oauth-toolkit their own
authorization server), nor the held-out netbox (GitHub's release list, the plugin catalog),
hyperkitty and postorius (their own Mailman core), django-helpdesk (webhooks its users
configure). Openwisp-controller's one metered API, MaxMind's GeoLite2 web service (free, capped
at 1,000 lookups a day), was checked with `paid-calls` naming its client's `city` and then the
project's wrapper `WHOISService.process_whois_details`: 0 findings either way, since the lookups
are queued from signal handlers through `transaction.on_commit(lambda: task.delay(...))`, a
callback the rules do not follow; the rows use the defaults.
"""

#: How the migration rules' rows were measured (keep it true when re-measuring).
MIGRATIONS = """
Migration rules (RP201-RP206) were measured with the release history a user's git clone shows:
they ask whether a table or column was created in the same release as the change (then it has
no rows), which they read from release tags, and an sdist has no git. `history.py` rebuilds it
from the package index (every release up to the pinned one, the migration files its wheel or
sdist packaged) as a git copy of each pinned tree with one tagged commit per release:

    python benchmarks/precision/history.py --corpora DIR --out HISTORY
    (cd HISTORY/FOLDER && review-patterns check . --select RP2 -j 1 --no-cache --format json -o RUNS/NAME.json --exit-zero)

A migration counts from the first release that packaged it (a South migration at the same path,
read in the archive, does not count; a moved migrations folder is followed, a renamed file is
not), and files no release packaged count as the pinned release (the script's docstring lists
the limits). On the bare sdists (releases guessed from header days) RP201 was judged 0 of 1,
RP204 1 of 2 and RP206 9 of 14: each false alarm changed a table or column of the same release,
and so, the release history showed, did 8 of the findings judged true then. The held-out
projects' rows were measured the same way (nautobot: 242 releases, pulpcore: 792,
django-oauth-toolkit: 52): one finding, RP203 on nautobot, as on the bare sdist.

So were hyperkitty, postorius, django-helpdesk and openwisp-controller, on their rebuilt
histories (every migration dated by an earlier release), with the same findings as on the bare
sdists. Netbox was run on its sdist: the index holds only its releases since 4.7.0b1, so a
rebuilt history would date every older migration 4.7.0b1 and call the changes made to those
tables same-release; its findings (RP203, and RP205 on tables two releases old) do not depend on
release dates.

Sentry 23.7.1 (3,108 files) was added last, from its wheel, with `django-version = "3.2"` (what its
metadata pins): its first run, judged as found, had 70 blocker findings sampled and 43 true (RP301
27 of 30, RP302 2 of 10, RP401 14 of 30); after the fixes, re-run and re-sampled, 46 of 52 (RP301 29
of 30, RP302 2 of 5, RP401 15 of 17). What was wrong, fixed where the knowledge belongs, each
with look-alike tests: a field class named like a relation was taken for one by its name (Sentry's
`HybridCloudForeignKey` is a `BigIntegerField`: 14 false RP401); a broad catch around a parser alone
(`json.loads`, `jwt.decode`, also through `sentry.utils.json`) was taken for internals (RP302); an
app's first migration squashed from others was judged for steps judged when they were written
(RP203); a `pytest/` package of fixtures and a `distutils/` package of build commands were taken
for production code (RP509); a name read under a key naming a thing (`"repository":
....get("full_name")`) for a person's (RP301); a dataclass's or a client's `expires_at` for a
model's field (RP510); a retry by a returned call and a lock's `__exit__` for swallowed errors
(RP304); an error raised in a model field's `get_prep_value` for one shown to clients (RP302). Its
RP206 findings are not judged: its migrations' releases were not rebuilt (no sdist history). Left
as found: RP302 on a superuser's settings test, the Relay registration validator and the
project's own `assert` messages; RP301 on a
User formatted with `%r` (whose `__repr__` shows only the id); RP401 over a queryset iterated
after its `.delete()`.

Saleor 2.10.1 (833 files), from its sdist, was judged as found with the code that came out of
Sentry's fixes: 37 of the 39 findings sampled were true (RP203 30 of 30, RP103 5 of 5, RP401 1 of 2,
RP304 0 of 1, RP505 1 of 1). Fixed since: a handler collecting what failed in a list that the
function raises on is not a swallowed error (RP304), and a related manager's queryset combined
with another by `|` is not run in the loop (RP401). Left: RP401 on a helper's queryset that its
caller ORs into one. Its RP201, RP202 and RP205 findings are not judged: the index holds only
this release, so no history can date its migrations (as for netbox).

Edx-enterprise 8.18.0 (823 files) and shuup 1.6.0 (940 files), from their sdists, were judged as
found with the code that came out of Saleor's fixes: 182 of the 208 findings sampled were true
(blockers: edx-enterprise 36 of 47, shuup 23 of 29). Their migration rules ran on the bare sdists:
edx-enterprise has 1,475 releases on the index, too many to rebuild, so its findings were judged
against its CHANGELOG's release dates (RP206 29 of 30, RP205 1 of 1, RP201 0 of 1); shuup has one
sdist. Fixed since, each with look-alike tests: a `testing/` package or `testing.py` module holds
test helpers (shuup's factories and mock-data view: RP401, RP302); a bare `except:` that ends the
process with `sys.exit()` lets an interrupted command stop (RP303); a row unpacked from
`select_for_update().get_or_create()` is locked (RP103); an app's label declared by the `AppConfig`
in its `__init__.py` (as before Django 3.2) names its migrations, and a migration written by hand
between two of the same day is of that day (RP204, 3). RP402's advice now follows the project's
Django version (no `filter=` on aggregates before 2.0). Left as found: RP301 on usernames logged
by edx-enterprise's devstack provisioning module and the commands built on it (7: test accounts,
though the commands ship and could be run on real users); RP302 on an SSO metadata fetch whose
error names the URL the admin submitted (3) and on shuup's `parse_decimal_string` of a submitted
price (3); RP307 on two handlers whose `try` can only raise harmless text; RP304 on a `git
describe` whose caller falls back with `or`; RP401 on a loop over at most one campaign per coupon
code; RP201 on a column re-added to a table no released code wrote yet; RP206 on a column made
NOT NULL the day after it was added nullable, in the same release (the bare sdist's day guess).

Kolibri 0.19.5 (680 files, its vendored `dist/` skipped) and arches 8.1.5 (549 files), from their
sdists, were judged as found with the code that came out of edx-enterprise's and shuup's fixes: 140
of the 186 findings sampled were true (blockers: kolibri 12 of 13, arches 14 of 17). The largest
error was RP510 on arches, 0 of 20: its settings say `USE_TZ = False`, so the ORM and
`timezone.now()` hold naive local time. Fixed since, each with look-alike tests: the model index
reads `USE_TZ` from the settings, and RP510 then flags only a window key of the local clock and a
model field's default fixed at import (20); a migration written by hand takes the day of the dated
migration it follows (RP204, kolibri device 0006); the `else` of `if not isinstance(e, X):`
narrows the exception to X (RP307); RP603 follows a version through nested includes and router
prefixes (kolibri's public API, two levels below `api/`). Left as found: RP509 on an operator's
Kibana command (4) and a view that answers only under `DEBUG`; RP307 on handlers whose `try` can
only raise harmless text (sqlite `VACUUM`, a form field's construction, html5lib), one guarded by a
helper that returns true only for network errors, and one logged at debug level behind a
verbosity option; RP304 on conversions whose failure is the expected path or is answered by a 404
later; RP303 on a pool callback that re-raises an exception only to format its traceback and on a
dev command printing the traceback; RP302 on `e.message`, which Python 3's exceptions lack; RP401
on a relation read behind a test that lets only rows with a null key through, on a proxy model
whose `__init__` already reads the relation, and in a one-time upgrade hook; RP103 in a repair
that only upgrade and sync hooks call.

Galaxy-ng 4.9.2 (446 files, its sdist) and geonode 5.1.1 (1,152 files, its wheel: the release has
no sdist; with `django-version = "5.2"`, what its metadata pins) were judged as found with the code
that came out of kolibri's and arches' fixes: 128 of the 164 findings sampled were true (blockers:
galaxy-ng 18 of 18, geonode 33 of 45). Fixed since, each with look-alike tests: configuration is not
personal data (RP301: an admin username read from a setting, 4); a module named for test data is
test code (`populate_test_data.py`); a multi-table child's link to its parent is built from its own
row (RP401); a `count()` tested for truth is an existence guard (RP402), and a queryset counted and
then tested gets "count once and reuse the number"; a `try` that only releases a resource under an
`if` that tests for it (`if conn: conn.close()`) is cleanup (RP304, also 2 on arches); a naive time
given to a new row's `auto_now_add` field is overwritten by the insert (RP510). Re-run and
re-sampled, 126 of 155 (blockers: galaxy-ng 22 of 23, geonode 31 of 39). Left as found: RP304 on
geonode, 11 of 24: mostly a `try` whose
body can only fail the expected way (a string parsed, a regex matched, `bytes.decode()`, a lazy
queryset), which the rule still asks to name, as ruff's BLE001 and pylint's broad-exception-caught
do; RP302 on a callee
that catches everything but its own error, a project's `NotImplementedError` text, a task's log
that no view serves to its requester, and upload checks named `assert_*`; RP307 on `try` bodies that
only parse; RP401 on an MPTT root's parent and per-row work no prefetch can serve; RP301 on a `user`
that an early return leaves `None`; RP203 on a migration replaced by a one-migration squash;
RP204 on a column that a dependency (pulpcore) adds in the same release.

Kiwitcms 12.4 (224 files, Django 4.2), wger 2.1 (453 files, Django 3.2) and evennia 5.0.1 (613
files, a game server on Django 5.2), from their sdists, migration rules on their rebuilt release
histories (49, 14 and 27 releases), were judged as found with the code that came out of geonode's
fixes: 74 of the 114 findings sampled were true (wger's 32 blockers all true; kiwitcms 3 of 3).
The false ones were two: RP509 on management commands (wger's 11, like arches' 4 and galaxy-ng's 1:
16 of 16 such findings false) and RP304 on evennia, 2 of 30. Fixed since, each with look-alike
tests: a management command is run by an operator and holds no worker (RP509); a handler that
calls the project's own function logging the traceback it handles is not swallowing it (RP304:
evennia's `log_trace()`, which calls `traceback.format_exc()`, and its aliases `trace =
log_trace`: 46 findings), a new part of the project context kept between runs; a wrapper's
docstring telling its fallback as a condition ("If no View has been created ..., returns an HTML
anchor") documents the catch-all (15); a `try` that opens with a comment speaking of its failure
("any sort of exception means the file does not exist", "This may fail": also geonode, sentry and
Review Board); an `INSTALLED_APPS` entry naming an `AppConfig` class outside `apps.py` is the app
of its module (a warning, evennia's admin site). Re-run and re-sampled: 80 of 98 (evennia 30 of
47). Left as found: RP304 on evennia's `try` bodies that only parse a value of known type, display
placeholders in `__str__`, a cache shortcut computed again when `None`, a retry inside a nested
`try`, and one `log_trace()` reached through a name that `evennia/__init__.py` binds inside a
function; RP509 on an `invoke` tasks module named `tasks.py`.

Review Board 8.1 (1,141 files, Django 4.2 with Djblets), from its sdist, was judged as found with
the same code: 53 of the 117 findings sampled were true, blockers 27 of 62 (RP301 19 of 30, RP302
6 of 30). Seventeen of RP302's false alarms had one cause: `reviewboard/manage.py` made the package
folder the project's root, so `reviewboard.diffviewer.errors` was not known as the project's own
module and its exceptions' texts (written for users) were taken for a library's. Fixed since: a
package whose only marker is a `manage.py` is not a root (its modules are imported by the package's
name from the folder above; this also let the model index see one more true RP401 in pulpcore, and
read `wagtail/test/urls.py` as test code); DRF's settings are not read from the test suite's
settings (Wagtail's internal admin API had drawn RP603); a `try` that is one call whose errors say
only what its input was (`json.loads(raw)`, `os.makedirs(path)`) is not flagged by RP307 when the
log line shows that input (3, and geonode 2). Re-run and re-sampled: 57 of 108, blockers 30 of 56.
Left as found: RP301 on the usernames of integration accounts (a hosting service's, an SCM
connection's, a bot's service account: 11 of 30, judged configuration; the rule knows only settings
and the environment as configuration, and the team's checklist names usernames in logs); RP302 on
superuser-only settings pages and their test actions (an SSH key, a test e-mail, a repository
check), a SAML library's fixed messages, `DoesNotExist` text in a form error and a property setter
that swallows every error; RP304 on `try` bodies that can only fail the expected way (10) and on
parsing an HTTP error's body on a path that then raises; RP307 on constructor-only `try` bodies and
callees that catch everything themselves; RP509 on a build script with a shebang outside the
package. Fixed in a later round: what a settings form's methods catch while
applying the settings the admin entered (`EMailSettingsForm` sending its test mail, `SSHSettingsForm`
writing a key) is the answer to that action, as a settings test's is; the six such rows left Review
Board's RP302 sample, which now holds 9 true of 18. A broader exemption, any view only staff or
superusers reach, was tried and dropped: it also silenced eleven findings judged true (shop and
Stripe admin pages, staff-only license views), whose judges held that staff should not see internals
either.

Tendenci 16.30 (1,965 files, an association-management CMS on Django 5.2 with a vendored forum) and
modoboa 2.12.0 (683 files, a mail-hosting admin with a DRF API), from their sdists, migration rules
on their rebuilt release histories (760 and 120 releases), were judged as found with the code that
came out of Review Board's fixes: 178 of the 206 findings sampled were true (blockers: tendenci 37 of
43, modoboa 2 of 4). The first two RP101 findings on a real project were both false. Fixed since,
each with look-alike tests: an object handed to a predicate whose answer a condition tests (`if not
perms.may_moderate_topic(user, topic):`) is not used by it (RP101, 2); counts of a queryset distinct
on fields (PostgreSQL's DISTINCT ON) pair only with the very same queryset, since `aggregate()`
refuses them (RP402, 2); a `urlopen` in a module that sets the sockets' default timeout when
imported waits that long (RP509, 1); a template tag's function (`@register.simple_tag`,
`@register.inclusion_tag`) runs in its node's `render()`, which Django asks to fail silently, as a
filter does (RP304, 1; also 7 on geonode and 1 on nautobot, where two sampled rows judged true under
the earlier wording, a tag swallowing a lookup's error and one logging a plugin's error as text, are
lost); a `try` whose one statement only converts or combines values it holds (`int(pk)`, `height /
max_count`) can fail only on them (RP304, 2; also arches, evennia, geonode and Sentry, where one
sampled row judged true, a `uuid.UUID()` of an identifier, is lost); a value a handler leaves unset
and the function computes again after the `try` (`if not x: x = ...`) is not swallowed (RP304:
evennia's cache shortcut; comparing every project before and after showed that the old check had let
through a `try` whose own `if` raised, now flagged: geonode's `identify_authority`, judged false, as
its fallback has a handler of its own); each branch of an `if`/`elif`/`else` that only releases a
resource is cleanup (RP304: geonode's `empty_folder`). Sentry's and geonode's RP304 samples were
redrawn and the new rows judged (27, then 15 more for geonode after the last fix): Sentry's now
holds 4 rows of a `try` that can only fail the expected way judged false, beside 3 such rows judged
true in an earlier round, an inconsistency the table keeps. Re-run and re-sampled: 178 of 198,
blockers 39 of 45 (tendenci 37 of 41). Left as found: RP302 on modoboa's narrow catches of sievelib's `BadArgument`/`BadValue`
answered with a 400 (2: fixed wording about the filter the user sent, but the rule reads no
library's source, and a `DoesNotExist` answered with a 400 is meant to stay flagged) and on
superuser-only Stripe Connect onboarding views (2); RP103 on import counters only the import's
subprocess writes (4); RP401 on a helper's own loop reached per row of a few admin-set types and on
a loop throttled by `time.sleep` (2); RP509 on helpers only management commands call (3) and a call
that can never run (1); RP304 on a display helper of an abstract model, attribute comparisons of
in-memory field metadata, `literal_eval` of a stored value, a card lookup that falls back to a
search and a fallback that returns what it computes instead of assigning it (6).
"""


FIRST_RUN = HERE / "verdicts" / "held_out_first_run.json"


def _share(tp: int, fp: int) -> str:
    return f"{100 * tp / (tp + fp):.0f}%" if tp + fp else "-"


def _judged() -> dict[str, list[dict[str, str]]]:
    """Each rule's judged rows."""
    judged = {}
    for path in sorted((HERE / "verdicts").glob("*.csv")):
        with path.open(newline="") as handle:
            judged[path.stem] = list(csv.DictReader(handle))
    return judged


def _figures(rows: list[dict[str, str]], found: int) -> dict[str, int]:
    return {
        "findings": found,
        "true": sum(r["verdict"] == "TP" for r in rows),
        "false": sum(r["verdict"] == "FP" for r in rows),
        "sampled": len(rows),
    }


def record_first_run(projects: list[str], counts: dict[str, dict[str, int]]) -> None:
    """Keeps the held-out projects' figures as judged on their first run (before any fix)."""
    unknown = [p for p in projects if p not in HELD_OUT]
    if unknown:
        raise SystemExit(f"not held out (corpora.HELD_OUT): {', '.join(unknown)}")
    first = json.loads(FIRST_RUN.read_text()) if FIRST_RUN.is_file() else {}
    for rule, rows in _judged().items():
        per_project = counts.get(rule, {})
        if not isinstance(per_project, dict):
            continue
        for project in projects:
            if project not in per_project or project in first.get(rule, {}):
                continue
            mine = [r for r in rows if r["project"] == project]
            if any(not r["verdict"] for r in mine):
                raise SystemExit(f"{rule}: {project} has rows not judged yet")
            first.setdefault(rule, {})[project] = _figures(mine, per_project[project])
    FIRST_RUN.write_text(json.dumps(first, indent=2, sort_keys=True) + "\n")


def _held_out_row(rule: str, was: dict[str, int], now: dict[str, int]) -> str:
    return (
        f"| {rule} | {was['findings']} | {was['sampled']} | {was['true']} | {was['false']}"
        f" | {_share(was['true'], was['false'])} | {now['findings']} | {now['sampled']} | {now['true']}"
        f" | {now['false']} | {_share(now['true'], now['false'])} |"
    )


def held_out_table(judged: dict[str, list[dict[str, str]]], counts: dict[str, dict[str, int]]) -> str:
    """Held-out projects: each rule's figures as first judged and as the verdicts give them now."""
    first = json.loads(FIRST_RUN.read_text()) if FIRST_RUN.is_file() else {}
    projects = sorted({p for per_project in first.values() for p in per_project})
    if not projects:
        return ""
    lines, silent = [], []
    keys = ("findings", "sampled", "true", "false")
    totals = {"was": dict.fromkeys(keys, 0), "now": dict.fromkeys(keys, 0)}
    for rule, rows in judged.items():
        before = [first.get(rule, {}).get(p) for p in projects]
        if not any(before):
            continue
        was = {k: sum(b[k] for b in before if b) for k in ("findings", "sampled", "true", "false")}
        per_project = counts.get(rule, {})
        now = _figures(
            [r for r in rows if r["project"] in projects],
            sum(per_project.get(p, 0) for p in projects) if isinstance(per_project, dict) else 0,
        )
        if not was["findings"] and not now["findings"]:
            silent.append(rule)
            continue
        lines.append(_held_out_row(rule, was, now))
        for key in keys:
            totals["was"][key] += was[key]
            totals["now"][key] += now[key]
    lines.append(_held_out_row("all", totals["was"], totals["now"]))
    names = ", ".join(f"{name} {version}" for name, version, _ in PROJECTS if name in projects)
    return (
        f"""
## Held out

Projects added after the rules were tuned, never read while writing them: {names}.
"First run" is each rule's figures as judged on the code as found, before any fix for these
projects (kept in `verdicts/held_out_first_run.json`, written by `table.py --first-run`); "now"
is what the verdicts give after the fixes (the false alarms fixed in the rules, re-sampled with
seed 0). No finding judged on them, before or after: {", ".join(silent) or "none"} (Sentry's two RP206
findings, and Saleor's migration findings other than RP203, are not judged: see below).

| rule | first run: findings | sampled | true | false | precision | now: findings | sampled | true | false | precision |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
"""
        + "\n".join(lines)
        + "\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--first-run", nargs="+", default=[], metavar="PROJECT")
    args = parser.parse_args(argv)
    counts = (
        json.loads((HERE / "verdicts" / "counts.json").read_text())
        if (HERE / "verdicts" / "counts.json").is_file()
        else {}
    )
    if args.first_run:
        record_first_run(args.first_run, counts)
    judged = _judged()
    rows = []
    for rule, rows_judged in judged.items():
        tp = sum(r["verdict"] == "TP" for r in rows_judged)
        fp = sum(r["verdict"] == "FP" for r in rows_judged)
        open_ = len(rows_judged) - tp - fp
        rows.append(
            f"| {rule} | {total(counts[rule]) if rule in counts else '?'} | {len(rows_judged)}"
            f" | {tp} | {fp} | {_share(tp, fp)} |" + (f" {open_} not judged |" if open_ else " |")
        )
    projects = ", ".join(
        f"{name} {version}" + (" (its wheel: the release has no sdist)" if name in WHEEL_ONLY else "")
        for name, version, _ in PROJECTS
    )
    text = (
        f"""# Precision on real projects

Measured on pinned sdists nobody here wrote: {projects}.

Reproduce: `python benchmarks/precision/run.py --fetch --corpora DIR --out RUNS`, then
`python benchmarks/precision/sample.py --runs RUNS --rule RPxxx` (up to 30 findings per rule,
seed 0), judge each row of `verdicts/RPxxx.csv` as a reviewer would (TP or FP, and why), and
`python benchmarks/precision/table.py` to rebuild this page. Every row is there to be re-checked.

| rule | findings | sampled | true | false | precision | |
| --- | --- | --- | --- | --- | --- | --- |
"""
        + "\n".join(rows)
        + "\n"
        + COVERAGE
        + held_out_table(judged, counts)
        + MIGRATIONS
    )
    (HERE / "README.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
