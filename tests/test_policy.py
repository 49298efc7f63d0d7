"""Policy loading: defaults in code equal policies/default.yml; unknown keys are errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from mlopskit.policy import DEFAULT_POLICY_PATH, SECTIONS, Policy, load_policy


def test_default_file_loads_with_hash() -> None:
    pol = load_policy()
    assert pol.path == str(DEFAULT_POLICY_PATH)
    assert pol.sha256 is not None and len(pol.sha256) == 64


@pytest.mark.parametrize("name", sorted(SECTIONS))
def test_yaml_defaults_equal_dataclass_defaults(name: str) -> None:
    cls = SECTIONS[name]
    from_yaml = load_policy().section(name, cls)
    assert from_yaml == cls(), (
        f"policies/default.yml section `{name}` differs from {cls.__name__}()"
    )
    assert set(load_policy().raw.get(name, {})) == {f.name for f in dataclasses.fields(cls)}, (
        f"policies/default.yml section `{name}` must list every key of {cls.__name__}"
    )


def test_unknown_key_is_an_error(tmp_path: Path) -> None:
    @dataclasses.dataclass(frozen=True)
    class Demo:
        alpha: float = 0.05

    p = tmp_path / "p.yml"
    p.write_text("demo:\n  alpah: 0.1\n")
    with pytest.raises(ValueError, match=r"unknown sections \['demo'\]"):
        load_policy(p)  # a whole section nobody reads is refused when the file is loaded
    with pytest.raises(ValueError, match=r"section `demo` has unknown keys \['alpah'\]"):
        Policy(raw={"demo": {"alpah": 0.1}}).section("demo", Demo)
    assert Policy(raw={"demo": {"alpha": 0.1}}).section("demo", Demo).alpha == 0.1
    with pytest.raises(ValueError, match="does not exist"):
        load_policy(tmp_path / "missing.yml")
