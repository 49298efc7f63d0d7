"""No make variable reaches a shell (or make itself) as code.

The Makefile is copied into a temporary directory beside a stub ``.venv/bin/python`` that
records its argv instead of running mlopskit; each target is run with the injection strings
from issue 14 and the test asserts that (a) nothing was created, (b) the CLI received the
text literally, as one argument, or the Makefile refused it before calling anything.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    shutil.which("make") is None or shutil.which("bash") is None, reason="needs make and bash"
)

STUB = """#!/usr/bin/env bash
# records argv as JSON lines (one per call) instead of running python
printf '%s\\0' "$@" > "$(dirname "$0")/../../argv.$$"
"""

# the strings an attacker (or a careless CI template) might put in a make variable
INJECTIONS = [
    'x" ] ; touch pwned ; [ "x',  # issue 14: breaks out of the old "$(MODEL)" test
    'x" ; touch pwned ; echo "',  # issue 14: REASON on make promote
    "x' ; touch pwned ; echo '",
    "$(shell touch pwned)",  # make-level expansion
    "$$(touch pwned)",
    "$(touch pwned)",
    "`touch pwned`",
    "x\ntouch pwned",
    "x; touch pwned #",
    "--help",
    "-x",
    "a'b\"c$d`e`\\f",
]


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    py = bin_dir / "python"
    py.write_text(STUB)
    py.chmod(0o755)
    (tmp_path / ".venv" / ".installed").touch()  # newer than pyproject.toml: no setup runs
    earlier = (tmp_path / "pyproject.toml").stat().st_mtime - 60
    os.utime(tmp_path / "pyproject.toml", (earlier, earlier))
    return tmp_path


def _make(sandbox: Path, *args: str, dry_run: bool = False) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))}
    cmd = ["make", "--no-print-directory", *(["-n"] if dry_run else []), *args]
    return subprocess.run(cmd, cwd=sandbox, env=env, capture_output=True, text=True, timeout=60)


def _calls(sandbox: Path) -> list[list[str]]:
    out = []
    for f in sorted(sandbox.glob("argv.*")):
        out.append(f.read_text().split("\0")[:-1])
    return out


def _assert_nothing_ran(sandbox: Path) -> None:
    created = sorted(p.name for p in sandbox.rglob("pwned*"))
    assert created == [], f"the injection ran: created {created}"


@pytest.mark.parametrize("payload", INJECTIONS)
def test_model_on_report_runs_nothing(sandbox: Path, payload: str) -> None:
    res = _make(sandbox, "report", f"MODEL={payload}")
    _assert_nothing_ran(sandbox)
    if payload.startswith("-"):  # a valid-looking name: reaches the CLI after `--`, literally
        assert res.returncode == 0, res.stderr
        assert _calls(sandbox) == [["-m", "mlopskit", "report", "--", payload]]
        return
    # none of the others is a valid model name: refused before the CLI is called
    assert res.returncode == 2, res.stderr
    assert "MODEL must match" in res.stderr or "MODEL must be one line" in res.stderr
    assert _calls(sandbox) == []


def _refused_multiline(res: subprocess.CompletedProcess[str], sandbox: Path, var: str) -> bool:
    """A value spanning lines is refused by make itself, before any recipe runs."""
    if f"{var} must be one line" not in res.stderr:
        return False
    assert res.returncode == 2 and _calls(sandbox) == []
    return True


@pytest.mark.parametrize("payload", INJECTIONS)
@pytest.mark.parametrize("var", ["AS_OF", "POLICY"])
def test_report_options_reach_the_cli_literally(sandbox: Path, payload: str, var: str) -> None:
    res = _make(sandbox, "report", "MODEL=fraud_v2.3", f"{var}={payload}")
    _assert_nothing_ran(sandbox)
    if "\n" in payload and _refused_multiline(res, sandbox, var):
        return
    assert res.returncode == 0, res.stderr
    flag = {"AS_OF": "--as-of", "POLICY": "--policy"}[var]
    assert _calls(sandbox) == [
        ["-m", "mlopskit", "report", f"{flag}={payload}", "--", "fraud_v2.3"]
    ]


@pytest.mark.parametrize("payload", INJECTIONS)
@pytest.mark.parametrize("var", ["REASON", "TO", "REPORT"])
def test_promote_variables_reach_the_cli_literally(sandbox: Path, payload: str, var: str) -> None:
    values = {"TO": "Production", "REPORT": "r.html", "REASON": "ok", var: payload}
    res = _make(sandbox, "promote", "MODEL=fraud_v2.3", *(f"{k}={v}" for k, v in values.items()))
    _assert_nothing_ran(sandbox)
    if "\n" in payload and _refused_multiline(res, sandbox, var):
        return
    assert res.returncode == 0, res.stderr
    expected = [
        "-m",
        "mlopskit",
        "promote",
        f"--to={values['TO']}",
        f"--report={values['REPORT']}",
        f"--reason={values['REASON']}",
        "--",
        "fraud_v2.3",
    ]
    assert _calls(sandbox) == [expected]


@pytest.mark.parametrize("payload", INJECTIONS)
def test_revert_runs_nothing(sandbox: Path, payload: str) -> None:
    res = _make(sandbox, "revert", f"NAME={payload}", "REASON=r")
    _assert_nothing_ran(sandbox)
    if payload.startswith("-"):
        assert _calls(sandbox) == [["-m", "mlopskit", "revert", "--reason=r", "--", payload]]
        return
    assert res.returncode == 2
    assert "NAME must match" in res.stderr or "NAME must be one line" in res.stderr
    res = _make(sandbox, "revert", "NAME=fraud", f"REASON={payload}")
    _assert_nothing_ran(sandbox)
    if "\n" in payload and _refused_multiline(res, sandbox, "REASON"):
        return
    assert res.returncode == 0, res.stderr
    assert _calls(sandbox) == [["-m", "mlopskit", "revert", f"--reason={payload}", "--", "fraud"]]


@pytest.mark.parametrize("payload", INJECTIONS)
@pytest.mark.parametrize("target", ["report", "promote", "revert"])
def test_dry_run_expands_nothing(sandbox: Path, payload: str, target: str) -> None:
    assigns = [f"{v}={payload}" for v in ("MODEL", "AS_OF", "POLICY", "REASON", "TO", "REPORT")]
    _make(sandbox, target, *assigns, f"NAME={payload}", dry_run=True)
    _assert_nothing_ran(sandbox)
    assert _calls(sandbox) == []


def test_variables_from_the_environment_are_not_expanded_either(sandbox: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))}
    env["REASON"] = "$(shell touch pwned)"
    res = subprocess.run(
        ["make", "--no-print-directory", "revert", "NAME=fraud"],
        cwd=sandbox,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    _assert_nothing_ran(sandbox)
    assert res.returncode == 0, res.stderr
    assert _calls(sandbox) == [
        ["-m", "mlopskit", "revert", f"--reason={env['REASON']}", "--", "fraud"]
    ]


def test_valid_call_is_unchanged(sandbox: Path) -> None:
    res = _make(sandbox, "report", "MODEL=fraud_v2.3")
    assert res.returncode == 0, res.stderr
    assert _calls(sandbox) == [["-m", "mlopskit", "report", "--", "fraud_v2.3"]]
    assert json.dumps(_calls(sandbox))  # argv is plain text
