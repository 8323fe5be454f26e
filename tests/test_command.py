"""`review-patterns` as users and CI run it: exit codes, JSON keys, errors without tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_cli

CLEAN = "def total(order):\n    return sum(line.price for line in order.lines)\n"
BROKEN = "def total(order:\n    return 0\n"


def project(tmp_path: Path, files: dict[str, str], config: str = "") -> Path:
    (tmp_path / "manage.py").write_text("")
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    if config:
        (tmp_path / "pyproject.toml").write_text(config)
    return tmp_path


def test_clean_project_passes(tmp_path: Path) -> None:
    root = project(tmp_path, {"shop/services.py": CLEAN})
    result = run_cli("check", "--no-color", cwd=root)  # no path: the current folder
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASSED" in result.stdout and "A+ 100" in result.stdout


def test_blocker_fails_the_gate_and_exit_zero_overrides(tmp_path: Path) -> None:
    root = project(tmp_path, {"shop/services.py": CLEAN, "shop/broken.py": BROKEN})
    result = run_cli("check", "shop", cwd=root)
    assert result.returncode == 1
    assert "shop/broken.py" in result.stdout and "RP001" in result.stdout and "FAILED" in result.stdout
    assert run_cli("check", "--exit-zero", "shop", cwd=root).returncode == 0


def test_json_report_keys(tmp_path: Path) -> None:
    root = project(tmp_path, {"shop/services.py": CLEAN, "shop/broken.py": BROKEN})
    result = run_cli("check", "--format", "json", "-o", "out/report.json", ".", cwd=root)
    assert result.returncode == 1
    data = json.loads((root / "out" / "report.json").read_text())
    assert set(data) == {"version", "summary", "warnings", "files"}
    assert set(data["summary"]) == {
        *("score", "grade", "files", "findings", "blockers", "dimensions", "passed"),
        *("kind", "grades", "lowest", "rules"),
    }
    assert data["summary"]["blockers"] == 1 and data["summary"]["passed"] is False
    assert set(data["summary"]["dimensions"]) == {
        "security",
        "data-integrity",
        "performance",
        "reliability",
        "code-clarity",
    }
    files = {f["path"]: f for f in data["files"]}
    assert set(files) == {"manage.py", "shop/broken.py", "shop/services.py"}
    broken = files["shop/broken.py"]
    assert set(broken) == {"path", "score", "grade", "dimensions", "findings", "bonuses", "error"}
    assert broken["score"] is None and broken["grade"] is None and "syntax error" in broken["error"]
    (finding,) = broken["findings"]
    assert set(finding) == {
        "code",
        "name",
        "message",
        "severity",
        "dimension",
        "penalty",
        "line",
        "column",
        "end_line",
        "end_column",
        "fix",
    }
    assert (finding["code"], finding["line"], finding["severity"]) == ("RP001", 1, "blocker")
    assert files["shop/services.py"]["score"] == 100.0 and files["shop/services.py"]["grade"] == "A+"
    # the report went to the file alone, as with ruff; the notes stay on standard error
    assert result.stdout == ""


def test_json_to_stdout(tmp_path: Path) -> None:
    root = project(tmp_path, {"shop/services.py": CLEAN})
    result = run_cli("check", "--format", "json", "shop", cwd=root)
    assert json.loads(result.stdout)["summary"]["passed"] is True


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli("check", "no/such/dir", cwd=tmp_path)
    assert result.returncode == 2
    assert "no/such/dir" in result.stderr and "Traceback" not in result.stderr


def test_config_errors_exit_2_naming_the_key(tmp_path: Path) -> None:
    root = project(tmp_path, {"shop/services.py": CLEAN}, '[tool.review-patterns]\nmin-grad = "B"\n')
    result = run_cli("check", ".", cwd=root)
    assert result.returncode == 2
    assert "min-grad" in result.stderr and "Traceback" not in result.stderr
    (root / "pyproject.toml").unlink()
    bad_flag = run_cli("check", "--select", "RP9999", ".", cwd=root)
    assert bad_flag.returncode == 2 and "RP9999" in bad_flag.stderr


def test_flags_override_the_file(tmp_path: Path) -> None:
    root = project(tmp_path, {"shop/broken.py": BROKEN}, '[tool.review-patterns]\nexclude = ["shop/**"]\n')
    assert run_cli("check", ".", cwd=root).returncode == 0  # excluded by the file
    assert run_cli("check", "shop/broken.py", cwd=root).returncode == 1  # named explicitly
    assert run_cli("check", "--min-grade", "Z", ".", cwd=root).returncode == 2


def test_rules_and_explain(tmp_path: Path) -> None:
    listing = run_cli("rules", cwd=tmp_path)
    assert listing.returncode == 0 and "RP001" in listing.stdout and "parse-error" in listing.stdout
    explained = run_cli("explain", "RP001", cwd=tmp_path)
    assert explained.returncode == 0 and explained.stdout.startswith("# RP001 parse-error")
    unknown = run_cli("explain", "RP777", cwd=tmp_path)
    assert unknown.returncode == 2 and "RP777" in unknown.stderr


def test_version(tmp_path: Path) -> None:
    result = run_cli("--version", cwd=tmp_path)
    assert result.returncode == 0 and "review-patterns" in result.stdout
