"""The wire contract: tools/list (names, titles, descriptions, input schemas, annotations, and a hash of each
output schema), resources and prompts, compared with the snapshot in tests/fixtures/tools_list.json.

An intended change (a new tool or argument, a reworded description) is accepted by regenerating the snapshot:

    PM_MCP_UPDATE_SNAPSHOT=1 .venv/bin/python -m pytest tests/test_tools_list_snapshot.py

and the diff of the snapshot file is reviewed in the commit. A refactor must leave it byte-identical.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from conftest import connect

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

SNAPSHOT = Path(__file__).parent / "fixtures" / "tools_list.json"


def _canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


async def wire(env) -> dict:
    async with connect(env) as client:
        tools = (await client.list_tools()).tools
        resources = (await client.list_resource_templates()).resource_templates
        prompts = (await client.list_prompts()).prompts
    out = {"tools": {}, "resource_templates": sorted(r.uri_template for r in resources),
           "prompts": {p.name: {"description": p.description,
                                "arguments": [a.model_dump(mode="json", exclude_none=True) for a in p.arguments or []]}
                       for p in prompts}}
    for t in sorted(tools, key=lambda t: t.name):
        out["tools"][t.name] = {
            "title": t.title,
            "description": t.description,
            "input_schema": t.input_schema,
            "annotations": t.annotations.model_dump(mode="json", exclude_none=True) if t.annotations else None,
            "output_schema_sha256": hashlib.sha256(_canonical(t.output_schema).encode()).hexdigest()
            if t.output_schema else None,
        }
    return out


async def test_tools_list_matches_the_snapshot(pm_env):
    got = wire_text = None
    got = await wire(pm_env)
    wire_text = json.dumps(got, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get("PM_MCP_UPDATE_SNAPSHOT") == "1" or not SNAPSHOT.exists():
        SNAPSHOT.write_text(wire_text, encoding="utf-8")
        if os.environ.get("PM_MCP_UPDATE_SNAPSHOT") != "1":
            pytest.fail("no snapshot existed: written now; commit tests/fixtures/tools_list.json")
    want = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert sorted(got["tools"]) == sorted(want["tools"]), "tool names changed (a contract: add, never rename)"
    for name, spec in want["tools"].items():
        # argument names are a contract: none may disappear
        assert set(spec["input_schema"].get("properties", {})) <= set(got["tools"][name]["input_schema"].get(
            "properties", {})), f"{name}: an argument was removed or renamed"
    assert got == want, ("tools/list differs from tests/fixtures/tools_list.json; if intended, regenerate it with "
                         "PM_MCP_UPDATE_SNAPSHOT=1 and review the diff")
