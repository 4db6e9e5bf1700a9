"""What the model reads of each tool, made small in one place: ``compact_tools(mcp)`` runs once after every
surface module has registered its tools and rewrites what tools/list advertises. Validation is untouched: the
SDK still validates every call with the pydantic model of the function's signature, so a call is accepted or
refused exactly as before; only the advertised JSON schema is rewritten, and never looser in a way that lets
through a value the tool would crash on (a value the schema allows is one the signature validates or refuses
with a ToolError).

Input schemas:
- pydantic's generated ``title`` keys (``"title": "Price"``, ``"size_positionArguments"``) are dropped;
- an optional argument ``anyOf: [X, {"type": "null"}]`` with ``"default": null`` becomes X: it stays optional
  because it is not in ``required`` (null is still accepted by the validator, it is just not advertised);
- a number given as a number or a decimal string (``type: ["number", "string"]``) is advertised as
  ``{"type": "number"}``: one type per schema is what the portable dialects (Gemini's OpenAPI subset) read, and
  strings are still accepted (the SDK parses a JSON string into a number before validating anyway);
- ``$defs`` are inlined (the input models are small and not recursive);
- an object argument marked ``BRIEF`` is advertised as ``{"type": "object", "description": ...}`` (a list of
  objects as an array of objects): its description names its fields (rarely used what-if and detail values); the validator checks them as before;
- an argument marked ``TERSE`` keeps its structure but not the descriptions of its parts (its own description
  explains them);
- an argument marked ``CHOICES`` (a Literal, or a list of one) is advertised as a plain string whose description
  names the allowed values once (``"polymarket|kalshi|manifold"``, after its own description if it has one): the
  validator still checks the Literal, and a value outside it is refused with an error listing the allowed ones;
- an argument marked ``UNLISTED`` (a Literal too) is advertised as a plain string with its own description, which
  names the usual values; the rest are taught by the error a value outside the Literal gets (it lists them all);
- an argument marked ``LEGACY`` is accepted, validated and documented in the README but not advertised: it is an
  old top-level name (a contract) whose capability the advertised schema reaches through a grouped object.

Output schemas keep what a client needs to read a result (each top-level field and its type; nested objects and
lists by kind) and drop the rest (titles, descriptions, nested field lists), so a ``structuredContent`` always
validates against its schema: the schema only says less, never something else.

Descriptions are dedented (docstrings carry the source's indentation otherwise).
"""

from __future__ import annotations

import inspect
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["LEGACY", "LEGACY_KEY", "BRIEF", "BRIEF_KEY", "TERSE", "TERSE_KEY", "CHOICES", "CHOICES_KEY", "UNLISTED",
           "UNLISTED_KEY", "Grouped", "compact_tools", "compact_input", "compact_output"]

LEGACY_KEY = "x-pm-legacy"
# An old argument name kept working but no longer advertised: Annotated[T, LEGACY] (or with Field(...) beside it)
LEGACY = Field(json_schema_extra={LEGACY_KEY: True})
BRIEF_KEY = "x-pm-brief"
# An object argument advertised by kind and description only (its description names its fields; the validator
# still checks each field and refuses an unknown one): Annotated[Model | None, Field(description=...), BRIEF]
BRIEF = Field(json_schema_extra={BRIEF_KEY: True})
TERSE_KEY = "x-pm-terse"
# An argument whose own description explains its parts: its nested schemas are advertised without descriptions
TERSE = Field(json_schema_extra={TERSE_KEY: True})
CHOICES_KEY = "x-pm-choices"
# A Literal argument (or a list of Literals) advertised as a string naming its values in its description
CHOICES = Field(json_schema_extra={CHOICES_KEY: True})
UNLISTED_KEY = "x-pm-unlisted"
# A Literal argument advertised as a string, its description naming the usual values (the error lists them all)
UNLISTED = Field(json_schema_extra={UNLISTED_KEY: True})



class Grouped(BaseModel):
    """The model of a grouped object argument (``what_if``, ``options``, ...): its advertised description names
    its fields (BRIEF), and a field it does not have is refused with the list of those it has, so a model that
    guessed a name learns the right one from the error."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _known_fields(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = [str(k) for k in data if k not in cls.model_fields]
            if unknown:
                raise ValueError(f"has no field {', '.join(map(repr, unknown))}; its fields are "
                                 f"{', '.join(cls.model_fields)}")
        return data


_DROP = ("title", "examples")
_NULL = {"type": "null"}


def _resolve(schema: dict[str, Any], defs: dict[str, Any], seen: tuple[str, ...] = ()) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        name = ref[len("#/$defs/"):]
        if name in seen or name not in defs:  # recursive: leave it an object
            return {"type": "object"}
        merged = {**defs[name], **{k: v for k, v in schema.items() if k != "$ref"}}
        return _input_node(merged, defs, (*seen, name))
    return schema


def _single_type(node: dict[str, Any]) -> dict[str, Any]:
    kind = node.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        node = dict(node)
        node["type"] = "number" if "number" in kinds else (kinds[0] if kinds else "string")
    return node


def _number_or_text(branches: list[Any]) -> bool:
    kinds = [b.get("type") if isinstance(b, dict) else None for b in branches]
    text = next((b for b in branches if isinstance(b, dict) and b.get("type") == "string"), {})
    return sorted(map(str, kinds)) == ["number", "string"] and set(text) <= {"type", "pattern"}


def _input_node(node: Any, defs: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _resolve(node, defs, seen)
    if node.get(BRIEF_KEY):  # an object, or a list of objects (its description names the items' fields)
        if _is_list(node):
            return {"type": "array", "items": {"type": "object"}, "description": node.get("description", "")}
        return {"type": "object", "description": node.get("description", "")}
    if node.get(CHOICES_KEY) or node.get(UNLISTED_KEY):
        inner = _input_node({k: v for k, v in node.items() if k not in (CHOICES_KEY, UNLISTED_KEY)}, defs, seen)
        return _choices(inner, listed=bool(node.get(CHOICES_KEY)))
    if node.get(TERSE_KEY):
        inner = _input_node({k: v for k, v in node.items() if k != TERSE_KEY}, defs, seen)
        return {**_undescribed(inner), **({"description": inner["description"]} if "description" in inner else {})}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP or key == "$defs":
            continue
        if key == "default" and value is None:
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _input_node(sub, defs, seen) for name, sub in value.items()
                        if not (isinstance(sub, dict) and sub.get(LEGACY_KEY))}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = _input_node(value, defs, seen)
        elif key in ("anyOf", "oneOf", "allOf") and isinstance(value, list):
            out[key] = [_input_node(sub, defs, seen) for sub in value]
        else:
            out[key] = value
    branches = out.get("anyOf")
    if isinstance(branches, list):
        rest = [b for b in branches if b != _NULL]
        if len(rest) < len(branches) and out.get("default") is not None:
            rest = branches  # null is the default: say so
        if len(rest) == 2 and _number_or_text(rest):  # a number or a decimal string: the number
            rest = [next(b for b in rest if b.get("type") == "number")]
        if len(rest) == 1:  # optional X: X (absent = not given)
            siblings = {k: v for k, v in out.items() if k != "anyOf"}
            out = {**rest[0], **siblings}
        else:
            out["anyOf"] = rest
    if "required" in out and isinstance(out.get("properties"), dict):
        out["required"] = [r for r in out["required"] if r in out["properties"]]
        if not out["required"]:
            del out["required"]
    return _single_type(out)


def _is_list(node: dict[str, Any]) -> bool:
    branches = [node, *node.get("anyOf", [])]
    return any(isinstance(n, dict) and n.get("type") == "array" for n in branches)


def _choices(node: dict[str, Any], listed: bool = True) -> dict[str, Any]:
    """An enum (or an array of one) as a string (an array of strings) whose description names the values (or,
    not ``listed``, keeps its own description)."""
    is_list = node.get("type") == "array" and isinstance(node.get("items"), dict)
    holder = node["items"] if is_list else node
    values = holder.get("enum")
    if not isinstance(values, list):
        return node
    plain = {k: v for k, v in holder.items() if k != "enum"}
    out = {**node, "items": plain} if is_list else plain
    if listed:
        names = "|".join(str(v) for v in values)
        out["description"] = f"{node['description']}: {names}" if node.get("description") else names
    return out


def _undescribed(node: Any) -> Any:
    """A schema without the descriptions of its parts (structurally: a property named "description" stays)."""
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "description":
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _undescribed(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties"):
            out[key] = _undescribed(value)
        elif key in ("anyOf", "oneOf", "allOf") and isinstance(value, list):
            out[key] = [_undescribed(sub) for sub in value]
        else:
            out[key] = value
    return out


def compact_input(schema: dict[str, Any]) -> dict[str, Any]:
    """The advertised input schema of a tool (see the module doc)."""
    return _input_node(schema, schema.get("$defs", {}))


def _decimal_branches(branches: list[Any]) -> bool:
    """pydantic writes a Decimal as ``anyOf: [number, string]``; in JSON mode it is always dumped as the string
    (our output models carry no ``float | str`` field, so the pair means Decimal here)."""
    kinds = [b.get("type") for b in branches if isinstance(b, dict)]
    return len(kinds) == 2 and set(kinds) == {"number", "string"}


def _kind(node: Any, defs: dict[str, Any]) -> dict[str, Any]:
    """A nested output value by kind only: what it is, not what it holds."""
    if not isinstance(node, dict):
        return {}
    if "$ref" in node:
        name = str(node["$ref"]).removeprefix("#/$defs/")
        target = defs.get(name, {})
        return _kind(target, defs) if "$ref" not in target else {}
    if "anyOf" in node or "oneOf" in node:
        branches = list(node.get("anyOf", node.get("oneOf", [])))
        plain = [b for b in branches if b != _NULL]
        if _decimal_branches(plain):
            branches = [{"type": "string"}] + ([_NULL] if len(plain) < len(branches) else [])
        kinds = [_kind(b, defs) for b in branches]
        if any(k == {} for k in kinds):
            return {}
        unique = [k for i, k in enumerate(kinds) if k not in kinds[:i]]
        return unique[0] if len(unique) == 1 else {"anyOf": unique}
    if "const" in node or "enum" in node:
        kind = node.get("type")
        return {"type": kind} if isinstance(kind, str) else {}
    kind = node.get("type")
    if isinstance(kind, str):
        return {"type": kind}
    if isinstance(kind, list):
        return {"anyOf": [{"type": k} for k in kind]}
    if "properties" in node:
        return {"type": "object"}
    return {}


def compact_output(schema: dict[str, Any] | None) -> dict[str, Any] | None:
    """The advertised output schema: an object of its top-level fields, each by kind (see the module doc)."""
    if not isinstance(schema, dict):
        return schema
    defs = schema.get("$defs", {})
    props = schema.get("properties")
    if not isinstance(props, dict):
        return {"type": "object"}
    return {"type": "object", "properties": {name: _kind(sub, defs) for name, sub in props.items()}}


def compact_tools(mcp: Any) -> None:
    """Rewrite every registered tool's advertised description, input and output schema (called once)."""
    for tool in mcp._tool_manager.list_tools():  # noqa: SLF001 - the SDK keeps its tools there
        tool.description = inspect.cleandoc(tool.description or "")
        tool.parameters = compact_input(tool.parameters)
        meta = tool.fn_metadata
        if meta.output_schema is not None:
            meta.output_schema = compact_output(meta.output_schema)
            tool.__dict__.pop("output_schema", None)  # Tool.output_schema is a cached_property of it
