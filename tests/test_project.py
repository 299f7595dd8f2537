"""The project's own files: the environments agree, CI runs the README's test command."""
import importlib.metadata
import platform
import re
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.markers import default_environment
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def _name(req: str) -> str:
    return re.split(r"[<>=!~ \[]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name.lower())


def _name(req: str) -> str:
    return _norm(re.split(r"[<>=!~ \[;]", req.strip(), maxsplit=1)[0])


def _project_requirements() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project["dependencies"] + project["optional-dependencies"]["dev"]


def _lock() -> tuple[str, dict[str, str]]:
    text = (ROOT / "requirements.lock").read_text()
    platform_line = re.search(r"^# platform: (.+)$", text, re.M)
    assert platform_line, "requirements.lock has no '# platform:' header: regenerate it with `make lock`"
    pins = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, sep, version = line.partition("==")
            assert sep and version and ";" not in line, f"requirements.lock: not an exact pin: {line!r}"
            pins[_norm(name)] = version
    return platform_line.group(1), pins


def test_lock_pins_every_dependency_within_pyproject_ranges():
    _, pins = _lock()
    for req in map(Requirement, _project_requirements()):
        name = _norm(req.name)
        assert name in pins, f"{name} is in pyproject.toml but not in requirements.lock: run `make lock`"
        assert req.specifier.contains(pins[name], prereleases=True), \
            f"requirements.lock pins {name}=={pins[name]}, outside pyproject.toml's {req}: run `make lock`"
    assert "pip" in pins, "the lock pins pip too"


def test_environment_yml_pins_what_the_lock_pins():
    _, pins = _lock()
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "conda-forge" in env["channels"]
    assert "python=3.11" in env["dependencies"]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    listed = {_name(r): r.replace(" ", "") for r in pip if not r.startswith("-e")}
    wanted = {_name(r) for r in _project_requirements()}
    assert set(listed) == wanted, f"environment.yml and pyproject.toml list different packages: {set(listed) ^ wanted}"
    for name, req in listed.items():
        assert req == f"{name}=={pins[name]}", f"environment.yml has {req}, requirements.lock {name}=={pins[name]}"
    assert "-e ." in pip


def test_the_venv_holds_exactly_the_locked_set():
    """What `make setup` installed is the lock, and the lock is closed under dependencies."""
    tag, pins = _lock()
    here = f"{sys.platform} {platform.machine()} cp{sys.version_info[0]}{sys.version_info[1]}"
    if tag != here or not sys.prefix.endswith(".venv"):
        pytest.skip(f"the lock is for {tag}; this is {here} ({sys.prefix})")
    wrong = {n: (v, _installed(n)) for n, v in pins.items() if _installed(n) != v}
    assert not wrong, f"installed versions differ from requirements.lock (locked, installed): {wrong}"
    env = default_environment()
    for dist in importlib.metadata.distributions():
        if _norm(dist.metadata["Name"]) not in pins:
            continue
        for req in map(Requirement, dist.requires or []):
            if req.marker is None or req.marker.evaluate(dict(env, extra="")):
                assert _norm(req.name) in pins, f"{dist.metadata['Name']} needs {req.name}, which the lock lacks"


def _installed(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def test_torch_pins():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert "torch==2.14.1" in deps and "torchvision==0.29.1" in deps


def test_ci_runs_the_readme_test_command():
    readme, ci = (ROOT / "README.md").read_text(), (ROOT / ".ci/run").read_text()
    assert "make test" in readme
    assert re.search(r"^make test\s*$", ci, re.M), ".ci/run must call `make test`"
    # the outputs proved portable: make test runs with another CPU's kernels (the exported names, before make test)
    from helpers.config import AVX2_ONLY
    exported = re.search(r"^export (.*)$", ci[:ci.index("\nmake test")], re.M)
    assert exported and all(f"{k}={v}" in exported.group(1).split() for k, v in AVX2_ONLY.items()), \
        ".ci/run must run make test with AVX2-only kernels (helpers.config.AVX2_ONLY)"


def test_nothing_generated_is_tracked():
    ignored = (ROOT / ".gitignore").read_text().split()
    for entry in ("/data", "/build", "/.venv"):
        assert entry in ignored
