"""server.json, the file the MCP registry reads, checked against the registry's published schema and our own facts.

The schema is vendored (tests/fixtures/registry, provenance in SOURCES.md). Beyond the schema: the version is the
package's, the README carries the `mcp-name:` marker the registry looks for in the PyPI description, every
environment variable is a real setting with the real default, and the settings match the Claude Desktop bundle's.
Each check is also run on a broken copy, to show it can fail.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import tomllib
import typing
from decimal import Decimal

import jsonschema
import pytest
from pydantic import SecretStr

import pm_mcp
from conftest import REPO
from pm_mcp.settings import Settings

SCHEMA_FILE = REPO / "tests" / "fixtures" / "registry" / "server.schema.2025-12-11.json"
SOURCES = REPO / "tests" / "fixtures" / "registry" / "SOURCES.md"
SERVER_JSON = REPO / "server.json"
MARKER = re.compile(r"^<!-- mcp-name: (\S+) -->$", re.MULTILINE)


def _schema() -> dict:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def _server() -> dict:
    return json.loads(SERVER_JSON.read_text(encoding="utf-8"))


def _project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _schema_errors(doc: dict) -> list[str]:
    validator = jsonschema.Draft7Validator(_schema(), format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)]


def _own_problems(doc: dict) -> list[str]:
    """What the schema does not check: our name, version, marker and settings."""
    problems = []
    project = _project()
    if doc.get("$schema") != _schema()["$id"]:
        problems.append(f"$schema is {doc.get('$schema')!r}, not the vendored schema's $id")
    if len(doc["description"]) > 100:
        problems.append(f"description is {len(doc['description'])} characters (the registry allows 100)")
    versions = {"pyproject": project["version"], "pm_mcp.__version__": pm_mcp.__version__,
                "server.json": doc["version"]}
    versions.update({f"packages[{i}]": p.get("version") for i, p in enumerate(doc.get("packages", []))})
    if len(set(versions.values())) != 1:
        problems.append(f"versions differ: {versions}")
    markers = MARKER.findall((REPO / "README.md").read_text(encoding="utf-8"))
    if markers != [doc["name"]]:
        problems.append(f"README mcp-name markers {markers} != [{doc['name']!r}]")
    pypi = [p for p in doc.get("packages", []) if p["registryType"] == "pypi"]
    if len(pypi) != 1:
        problems.append(f"{len(pypi)} PyPI packages, expected 1")
    for p in pypi:
        if p["identifier"] != project["name"] or project["name"] not in project.get("scripts", {}):
            problems.append(f"package {p['identifier']!r}: not pyproject's name with a script of that name "
                            "(what `uvx <identifier>` runs)")
        if p["transport"] != {"type": "stdio"}:
            problems.append(f"transport {p['transport']} (pm-mcp's default is stdio)")
        problems.extend(_env_problems(p.get("environmentVariables", [])))
    return problems


def _env_problems(variables: list[dict]) -> list[str]:
    problems = []
    fields = Settings.model_fields
    for var in variables:
        name = var["name"]
        field = name.removeprefix("PM_MCP_").lower()
        if not name.startswith("PM_MCP_") or field not in fields:
            problems.append(f"{name} is not a setting")
            continue
        info = fields[field]
        secret = info.annotation is SecretStr or SecretStr in typing.get_args(info.annotation)
        if bool(var.get("isSecret")) != bool(secret):
            problems.append(f"{name}: isSecret {var.get('isSecret')} but the setting is "
                            f"{'a secret' if secret else 'not secret'}")
        if "default" in var and not _same(var["default"], info.default):
            problems.append(f"{name}: default {var['default']!r} but the setting's is {info.default!r}")
        allowed = [str(a) for a in typing.get_args(info.annotation)] \
            if typing.get_origin(info.annotation) is typing.Literal else None
        if allowed is not None and var.get("choices") != allowed:
            problems.append(f"{name}: choices {var.get('choices')} but the setting allows {allowed}")
    return problems


def _same(text: str, default) -> bool:
    if isinstance(default, Decimal | int | float) and not isinstance(default, bool):
        return Decimal(text) == Decimal(str(default))
    return text == str(default)


def test_vendored_schema_is_the_recorded_file():
    data = SCHEMA_FILE.read_bytes()
    sources = SOURCES.read_text(encoding="utf-8")
    assert hashlib.sha256(data).hexdigest() in sources
    schema = json.loads(data)
    assert schema["$id"] in sources and schema["$id"].endswith("/2025-12-11/server.schema.json")
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(schema)


def test_server_json_is_valid_and_true():
    doc = _server()
    assert _schema_errors(doc) == []
    assert _own_problems(doc) == []
    assert doc["name"] == "io.github.pm-mcp/pm-mcp"


@pytest.mark.parametrize("break_it, expect", [
    (lambda d: d.update(name="pm-mcp"), "does not match"),  # no namespace/ part
    (lambda d: d.pop("version"), "'version' is a required property"),
    (lambda d: d["packages"][0].pop("transport"), "'transport' is a required property"),
    (lambda d: d["packages"][0].update(version="latest"), "should not be valid"),
    (lambda d: d["packages"][0]["environmentVariables"][0].pop("name"), "'name' is a required property"),
    (lambda d: d["packages"][0]["environmentVariables"][0].update(isSecret="yes"), "is not of type 'boolean'"),
])
def test_schema_rejects_a_broken_copy(break_it, expect):
    doc = copy.deepcopy(_server())
    break_it(doc)
    errors = _schema_errors(doc)
    assert any(expect in e for e in errors), errors


def _env(doc: dict, name: str) -> dict:
    return next(v for v in doc["packages"][0]["environmentVariables"] if v["name"] == name)


@pytest.mark.parametrize("break_it, expect", [
    (lambda d: d.update(description="x" * 101), "101 characters"),
    (lambda d: d.update(version="9.9.9"), "versions differ"),
    (lambda d: d["packages"][0].update(version="0.0.1"), "versions differ"),
    (lambda d: d.update(name="io.github.someone/pm-mcp"), "README mcp-name markers"),
    (lambda d: d.update({"$schema": "https://static.modelcontextprotocol.io/schemas/2025-09-29/server.schema.json"}),
     "$schema is"),
    (lambda d: d["packages"][0].update(identifier="pm_mcp"), "not pyproject's name"),
    (lambda d: d["packages"][0]["environmentVariables"].append({"name": "PM_MCP_BANKROL"}), "is not a setting"),
    (lambda d: _env(d, "PM_MCP_MAX_DAILY_USD").update(default="600"), "default '600'"),
    (lambda d: _env(d, "PM_MCP_MANIFOLD_API_KEY").pop("isSecret"), "the setting is a secret"),
    (lambda d: _env(d, "PM_MCP_KALSHI_KEY_ID").update(isSecret=True), "not secret"),
    (lambda d: _env(d, "PM_MCP_MODE").update(choices=["paper"]), "choices"),
])
def test_own_checks_reject_a_broken_copy(break_it, expect):
    doc = copy.deepcopy(_server())
    break_it(doc)
    problems = _own_problems(doc)
    assert any(expect in p for p in problems), problems


def test_same_settings_as_the_bundle():
    """The registry entry and the Claude Desktop bundle ask a person for the same settings, with the same
    defaults, secrets marked alike."""
    from tools.bundle.__main__ import USER_CONFIG

    ours = {v["name"]: v for v in _server()["packages"][0]["environmentVariables"]}
    bundle = {var: field for var, field in USER_CONFIG.values()}
    assert sorted(ours) == sorted(bundle)
    for name, field in bundle.items():
        if field.get("default", "") != "":
            assert Decimal(ours[name]["default"]) == Decimal(str(field["default"])) \
                if field["type"] == "number" else ours[name]["default"] == field["default"], name
        else:
            assert "default" not in ours[name], name
        assert bool(ours[name].get("isSecret")) == bool(field.get("sensitive")), name
        assert (ours[name].get("format") == "filepath") == (field["type"] == "file"), name


def test_marker_reaches_the_pypi_description():
    """The registry finds the marker in the package's description on PyPI: that is the README (pyproject's
    `readme`), near the top."""
    assert _project()["readme"] == "README.md"
    readme = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert any(MARKER.match(line) for line in readme[:10])
