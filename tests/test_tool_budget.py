"""What a model pays for our tools every turn, measured on the real server's tools/list (not a constant):
name + description + input schema (compact JSON) per tool and in all, the whole tools/list response, and
the rules that keep the surface readable (a title on every tool, every parameter described, prompt arguments
described, one `type` per schema).

    .venv/bin/python -m pytest -q tests/test_tool_budget.py -s     # prints the table
"""

from __future__ import annotations

import json

import pytest

from conftest import connect

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

PER_TOOL = 600  # characters a model reads per tool (DESIGN.md: keep each under ~600)
ALL_TOOLS = 15_000  # the whole list, every tool included
TOOLS_LIST = 40_000  # the whole tools/list response (output schemas included)
# A tool allowed above PER_TOOL, capped where it stands so it can only shrink (none since every tool fits; a tool
# that cannot fit goes here with its reason in tools/bench/REPORT.md "Tool surface").
OVER_BUDGET: dict[str, int] = {}


def compact(obj) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def model_facing(tool: dict) -> int:
    return len(tool["name"]) + len(tool.get("description") or "") + len(compact(tool["inputSchema"]))


def undescribed(schema: dict, where: str, parent_text: str = "") -> list[str]:
    """Parameters without a description: a top-level one always needs its own; a nested field may instead be
    named in its parent's description (a grouped what-if object)."""
    out = []
    for name, sub in (schema.get("properties") or {}).items():
        text = sub.get("description") or ""
        if not text and not (parent_text and name in parent_text):
            out.append(f"{where}.{name}")
        out += undescribed(sub, f"{where}.{name}", text or parent_text)
        items = sub.get("items")
        if isinstance(items, dict):
            out += undescribed(items, f"{where}.{name}[]", text or parent_text)
    return out


def type_arrays(node, where: str) -> list[str]:
    found = []
    if isinstance(node, dict):
        if isinstance(node.get("type"), list):
            found.append(where)
        for key, value in node.items():
            found += type_arrays(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += type_arrays(value, f"{where}[{i}]")
    return found


async def listing(env) -> tuple[dict, list]:
    async with connect(env) as client:
        tools = await client.list_tools()
        prompts = (await client.list_prompts()).prompts
    return tools.model_dump(mode="json", by_alias=True, exclude_none=True), prompts


async def test_the_tool_surface_fits_its_budget(pm_env):
    listed, prompts = await listing(pm_env)
    tools = listed["tools"]
    sizes = {t["name"]: model_facing(t) for t in tools}
    total = sum(sizes.values())
    whole = len(compact(listed))
    for name, n in sorted(sizes.items(), key=lambda kv: -kv[1]):
        print(f"{n:6,} {name}")
    print(f"{total:6,} model-facing, {len(tools)} tools; tools/list {whole:,}")

    over = {n: s for n, s in sizes.items() if s > OVER_BUDGET.get(n, PER_TOOL)}
    assert not over, f"tools over {PER_TOOL} model-facing characters: {over}"
    assert total <= ALL_TOOLS, f"{total:,} model-facing characters in all (budget {ALL_TOOLS:,})"
    assert whole <= TOOLS_LIST, f"tools/list is {whole:,} characters (budget {TOOLS_LIST:,})"

    assert [t["name"] for t in tools if not t.get("title")] == []
    missing = [p for t in tools for p in undescribed(t["inputSchema"], t["name"])]
    assert missing == [], f"parameters without a description: {missing}"
    assert [p for t in tools for p in type_arrays(t, t["name"])] == []  # one type per schema (portable)
    assert [f"{p.name}.{a.name}" for p in prompts for a in p.arguments or [] if not a.description] == []
    # no docstring indentation reaches the model
    assert [t["name"] for t in tools if "\n " in t.get("description", "")] == []


def test_the_budget_check_can_fail():
    """The measures above on a made-up tool: an undescribed nested field and a type array are caught."""
    tool = {"name": "t", "description": "d", "inputSchema": {"type": "object", "properties": {
        "a": {"type": "object", "description": "has x", "properties": {"x": {"type": "number"},
                                                                        "y": {"type": ["number", "string"]}}}}}}
    assert undescribed(tool["inputSchema"], "t") == ["t.a.y"]
    assert type_arrays(tool, "t") == ["t.inputSchema.properties.a.properties.y"]
    assert model_facing(tool) == 2 + len(compact(tool["inputSchema"]))


def test_choices_unlisted_and_brief_lists_advertise_less_and_validate_the_same():
    """schema.CHOICES names a Literal's values once in a string's description, UNLISTED keeps its own words,
    BRIEF on a list advertises an array of objects; the pydantic validator still refuses what it refused, and a
    Grouped object names its fields when it refuses one."""
    from typing import Annotated, Literal

    from pydantic import BaseModel, Field, TypeAdapter, ValidationError

    from pm_mcp.surface.schema import BRIEF, CHOICES, UNLISTED, Grouped, compact_input

    class Item(BaseModel):
        field: Literal["a", "b"]

    class Opts(Grouped):
        stake: int | None = None
        tif: Literal["GTC", "FOK"] | None = None

    class Args(BaseModel):
        venue: Annotated[Literal["x", "y"] | None, CHOICES] = None
        side: Annotated[Literal["buy", "sell"], Field(description="trade"), CHOICES] = "buy"
        method: Annotated[Literal["m1", "m2", "m3"], Field(description="or m2, ..."), UNLISTED] = "m1"
        kinds: Annotated[list[Literal["k1", "k2"]] | None, CHOICES] = None
        items: Annotated[list[Item], Field(description="{field: a|b}"), BRIEF]
        options: Annotated[Opts | None, Field(description="stake, tif"), BRIEF] = None

    props = compact_input(Args.model_json_schema())["properties"]
    assert props["venue"] == {"type": "string", "description": "x|y"}
    assert props["side"] == {"type": "string", "default": "buy", "description": "trade: buy|sell"}
    assert props["method"] == {"type": "string", "default": "m1", "description": "or m2, ..."}
    assert props["kinds"] == {"type": "array", "items": {"type": "string"}, "description": "k1|k2"}
    assert props["items"] == {"type": "array", "items": {"type": "object"}, "description": "{field: a|b}"}
    assert props["options"] == {"type": "object", "description": "stake, tif"}
    ok = {"items": [{"field": "a"}]}
    TypeAdapter(Args).validate_python(ok)
    for bad in ({**ok, "venue": "z"}, {**ok, "method": "m4"}, {**ok, "kinds": ["k3"]}, {"items": [{"field": "c"}]},
                {**ok, "options": {"tif": "DAY"}}):
        with pytest.raises(ValidationError):
            TypeAdapter(Args).validate_python(bad)
    with pytest.raises(ValidationError, match="has no field 'size'; its fields are stake, tif"):
        TypeAdapter(Args).validate_python({**ok, "options": {"size": 1}})
