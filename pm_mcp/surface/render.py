"""Tool results: concise text first (Claude Desktop's model reads only the text), structured beside it.

A tool declares ``-> Annotated[CallToolResult, OutModel]`` so the client sees OutModel's JSON schema
as ``outputSchema``, and returns ``tool_result(model, text)``.

Tool errors (the one translator at the boundary): ``user_error(exc)`` turns an exception into a ToolError
whose text is a sentence for the person: expected failures keep their message (bounded); pydantic
validation errors name the argument and the allowed values; arithmetic blow-ups (``Decimal('1e999')``
quantized) say a number is out of range; a busy database says retry; anything else is logged with its
traceback and reported as "an internal error (details in the server log)". Never a type name and repr,
never a traceback. ``tool_error_middleware`` applies the same rules to every tools/call answer: the SDK's
own argument validation errors (which would otherwise list every failing item: 4.4 MB for
``kinds=["x"]*20000``), its resolver errors and its bare "Error executing tool X" for a crash.
"""

# No `from __future__ import annotations` here: annotations stay objects, so pydantic and the SDK (which reads
# every tool's signature several times while registering it) do not compile and eval strings at start-up.

import logging
import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ContentBlock, TextContent
from pydantic import BaseModel, ValidationError

from pm_mcp.domain.money import MoneyError

__all__ = ["tool_result", "ToolError", "user_error", "describe_validation_error", "tool_error_middleware",
           "MAX_ERROR_CHARS", "INTERNAL_ERROR"]

log = logging.getLogger(__name__)

MAX_ERROR_CHARS = 1000
MAX_VALUE_CHARS = 40
INTERNAL_ERROR = "an internal error (the details are in the server log)"
# numbers beyond these magnitudes are not prices, sizes or amounts anyone means
_MAX_ADJUSTED_EXPONENT = 15
_LEAK_MARKERS = ("Traceback", "<class '", "validation error for", "validation errors for", "InvalidOperation",
                 "DivisionByZero", "decimal.", "sqlite3.", "OperationalError", "aiosqlite", 'File "/')


def tool_result(model: BaseModel, text: str, extra: Sequence[ContentBlock] = ()) -> CallToolResult:
    return CallToolResult(content=[TextContent(text=text), *extra],
                          structured_content=model.model_dump(mode="json", by_alias=True))


# --- the translator -------------------------------------------------------------------------------------------

def user_error(exc: Exception, action: str = "complete this call", after: str = "nothing was changed") -> ToolError:
    """Turn a failure into a ToolError the model can read and act on (internals go to the log only).
    ``action`` completes "pm-mcp could not ..."; ``after`` says what the person can rely on."""
    from pm_mcp.store import DatabaseBusy, is_busy_error

    if isinstance(exc, ToolError):
        return ToolError(bound_text(str(exc)))
    if is_busy_error(exc):
        return ToolError(f"{DatabaseBusy()}; {after}")
    if isinstance(exc, ValidationError):
        return ToolError(describe_validation_error(exc))
    if isinstance(exc, ArithmeticError):  # decimal.InvalidOperation / Overflow / DivisionByZero
        log.warning("arithmetic failure while trying to %s", action, exc_info=exc)
        return ToolError(f"pm-mcp could not {action}: a number in the arguments is out of range (amounts, prices "
                         f"and sizes have at most {_MAX_ADJUSTED_EXPONENT} digits before and after the decimal "
                         f"point); {after}")
    if isinstance(exc, (MoneyError, ValueError, KeyError)):
        msg = exc.args[0] if exc.args else str(exc)
        text = str(msg).strip()
        if text and not _leaks(text):
            return ToolError(bound_text(text))
    log.error("could not %s", action, exc_info=exc)
    return ToolError(f"pm-mcp could not {action}: {INTERNAL_ERROR}; {after}")


def bound_text(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    """Long echoed values clipped, the whole at most ``limit`` characters."""
    # a quoted value opens after a non-letter and closes before one: the text between the closing quote of one
    # value and the opening quote of the next ("'price' is not one of ...; 'level'") is not a value
    text = re.sub(r"(?<![A-Za-z0-9])(['\"])([^'\"\n]{%d,})\1(?![A-Za-z0-9])" % (MAX_VALUE_CHARS * 2 + 1),
                  lambda m: m.group(1) + m.group(2)[:MAX_VALUE_CHARS] + f"... ({len(m.group(2)):,} characters)"
                  + m.group(1), text)
    if len(text) > limit:
        text = text[:limit - 30].rstrip() + " ... (message shortened)"
    return text


def _leaks(text: str) -> bool:
    return any(m in text for m in _LEAK_MARKERS) or bool(re.search(r"\b[A-Z][A-Za-z]+(Error|Exception): ", text))


# --- pydantic validation errors as sentences ----------------------------------------------------------------------

def _show(value: Any) -> str:
    if isinstance(value, str):
        s = value if len(value) <= MAX_VALUE_CHARS else value[:MAX_VALUE_CHARS] + f"... ({len(value):,} characters)"
        return "'" + s.replace("\n", " ") + "'"
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value):,} item(s)"
    if isinstance(value, dict):
        return "an object"
    if value is None:
        return "null"
    s = str(value) if isinstance(value, (int, float, Decimal)) else repr(value)
    return s if len(s) <= MAX_VALUE_CHARS else s[:MAX_VALUE_CHARS] + "..."


def _allowed(expected: str) -> str:
    """pydantic's "'a', 'b' or 'c'" -> "a, b, c"."""
    parts = re.split(r", | or ", expected)
    return ", ".join(p.strip().strip("'\"") for p in parts if p.strip())


def _where(loc: Sequence[Any]) -> tuple[str | None, str]:
    parts = [p for p in loc if not (isinstance(p, str) and ("[" in p or p.startswith("function-")))]
    if not parts:
        return None, ""
    arg, rest = parts[0], parts[1:]
    where = ""
    for p in rest:
        where += f" item {p + 1}" if isinstance(p, int) else f" field '{p}'"
    return (str(arg) if not isinstance(arg, int) else f"item {arg + 1}"), where


def _sentence(err: dict[str, Any]) -> tuple[str, str]:
    """(argument, sentence) for one pydantic error."""
    kind = err.get("type", "")
    arg, where = _where(err.get("loc") or ())
    head = f"argument '{arg}'" if arg else "the arguments"
    value = err.get("input")
    ctx = err.get("ctx") or {}
    msg = str(err.get("msg", "is not valid"))
    if kind == "missing":
        return arg or "", f"{head}{where} is required"
    if kind == "extra_forbidden":
        if where:  # a field inside an object argument (what_if, filters, ...)
            return arg or "", f"{head}:{where.rsplit(' field ', 1)[0]} has no field {where.rsplit(' field ', 1)[-1]}"
        return arg or "", f"{head} is not an argument of this tool"
    if kind in ("literal_error", "enum"):
        return arg or "", f"{head}{where}: {_show(value)} is not one of {_allowed(str(ctx.get('expected', '')))}"
    if kind in ("decimal_parsing", "decimal_type", "float_parsing", "float_type", "int_parsing", "int_type",
                "int_from_float", "number_parsing"):
        whole = " whole" if kind.startswith("int") else ""
        return arg or "", f"{head}{where}: {_show(value)} is not a{whole} number; give it like '0.45' or 10"
    if kind in ("finite_number",):
        return arg or "", f"{head}{where}: {_show(value)} must be a finite number (not NaN or Infinity)"
    if kind in ("model_type", "model_attributes_type", "dict_type", "dataclass_type"):
        return arg or "", f"{head}{where}: {_show(value)} must be an object (see this tool's input schema)"
    if kind in ("list_type", "tuple_type", "set_type"):
        return arg or "", f"{head}{where}: {_show(value)} must be a list"
    if kind in ("string_type",):
        return arg or "", f"{head}{where}: {_show(value)} must be a string"
    if kind in ("string_too_long", "too_long"):
        return arg or "", f"{head}{where}: {_show(value)} is too long ({msg[0].lower() + msg[1:]})"
    msg = re.sub(r"^Input should be ", "must be ", msg)
    msg = re.sub(r"^Input should ", "should ", msg)
    msg = re.sub(r"^(Value|Assertion) error, ", "", msg)
    return arg or "", f"{head}{where}: {_show(value)}: {msg}" if value is not None else f"{head}{where}: {msg}"


def describe_validation_error(exc: ValidationError | Sequence[dict[str, Any]], limit: int = MAX_ERROR_CHARS) -> str:
    """Bounded sentences: the first few distinct problems, then "(and N more errors)"."""
    errors = list(exc.errors(include_url=False) if isinstance(exc, ValidationError) else exc)
    if not errors:
        return "the arguments are not valid"
    out: list[str] = []
    shown = 0
    seen: set[str] = set()
    for err in errors:
        _arg, s = _sentence(err)
        key = re.sub(r" item \d+", "", s)
        if key in seen:
            continue
        if out and (len(out) >= 3 or sum(len(x) for x in out) + len(s) > limit - 80):
            break
        seen.add(key)
        out.append(s)
        shown += 1
    text = "; ".join(out)
    rest = len(errors) - shown
    if rest > 0:
        text += f" (and {rest:,} more error{'s' if rest != 1 else ''})"
    return bound_text(text, limit)


_VALIDATION_TEXT = re.compile(r"\d+ validation errors? for \w+")


def _parse_validation_text(text: str) -> list[dict[str, Any]]:
    """pydantic's printed form ("1 validation error for X\\nloc\\n  msg [type=t, input_value=v, ...]") back into
    error dicts, for a ValidationError someone turned into a string before it reached us."""
    lines = text.split("\n")
    out: list[dict[str, Any]] = []
    i = 0
    while i < len(lines) and len(out) < 200:
        m = re.match(r"^  (\S.*?) \[type=([\w-]+)(?:, input_value=(.*?))?(?:, input_type=\w+)?\]$", lines[i])
        if m and i > 0 and not lines[i - 1].startswith(" "):
            loc = tuple(int(p) if p.isdigit() else p for p in lines[i - 1].strip().split("."))
            value = m.group(3)
            wrapped = re.fullmatch(r"Decimal\('(.*)'\)", value or "")
            if wrapped:
                value = wrapped.group(1)
            elif value and len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            out.append({"type": m.group(2), "loc": loc, "msg": m.group(1), "input": value})
        i += 1
    return out


# --- the boundary: every tools/call answer -------------------------------------------------------------------------

def _number_params(mcp: Any, tool: str) -> set[str] | None:
    """The tool's arguments whose JSON schema admits a number (Decimal, float): never ids, which may be long
    digit strings (token ids, agent ids). None when the tool's schema cannot be read."""
    try:
        props = mcp._tool_manager.get_tool(tool).parameters.get("properties", {})  # noqa: SLF001
    except Exception:  # noqa: BLE001
        return None

    def numeric(schema: Any) -> bool:
        if not isinstance(schema, dict):
            return False
        kind = schema.get("type")
        if kind == "number" or (isinstance(kind, list) and "number" in kind):
            return True
        return any(numeric(x) for x in schema.get("anyOf", []) + schema.get("oneOf", []))

    return {name for name, schema in props.items() if numeric(schema)}


def _out_of_range(arguments: dict[str, Any], only: set[str] | None = None) -> str | None:
    """The first argument holding a number no price, size or amount can be (1e999, 1e-999); with ``only``,
    among those arguments only."""
    def walk(name: str, v: Any) -> str | None:
        if isinstance(v, bool):
            return None
        if isinstance(v, (int, float, str)) and not (isinstance(v, str) and len(v) > 400):
            try:
                d = Decimal(str(v).strip())
            except (InvalidOperation, ValueError):
                return None
            if d.is_finite() and d != 0 and abs(d.adjusted()) > _MAX_ADJUSTED_EXPONENT:
                return name
            return None
        if isinstance(v, dict):
            for k, x in list(v.items())[:50]:
                found = walk(name, x)
                if found:
                    return found
        if isinstance(v, list):
            for x in v[:50]:
                found = walk(name, x)
                if found:
                    return found
        return None

    for name, value in (arguments or {}).items():
        if only is not None and name not in only:
            continue
        found = walk(str(name), value)
        if found:
            return found
    return None


def _name_the_argument(text: str, arguments: dict[str, Any]) -> str:
    """Prefix "argument 'x': " when the message quotes one argument's value without naming it."""
    if not arguments or "argument '" in text:
        return text
    hits = []
    for name, value in arguments.items():
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            raw = str(value)
            for s in {raw, raw.strip()}:
                quoted = (f"'{s[:MAX_VALUE_CHARS]}", f'"{s[:MAX_VALUE_CHARS]}') if len(s) >= 2 else (f"'{s}'", f'"{s}"')
                if any(q in text for q in quoted):
                    hits.append(str(name))
                    break
    if len(hits) == 1 and not mentions(hits[0], text):
        return f"argument '{hits[0]}': {text}"
    return text


def mentions(name: str, text: str) -> bool:
    """Does an error text name argument ``name``? (a one- or two-letter name only at its start)"""
    if f"argument '{name}'" in text:
        return True
    if len(name) < 3:
        return bool(re.match(rf"{re.escape(name)}(?![A-Za-z0-9_])", text))
    return bool(re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", text))


_ORDER_TOOLS = frozenset({"confirm_order", "propose_bundle", "cancel_order"})


def _out_of_range_sentence(arg: str, tool: str) -> str:
    after = "check get_order / list_orders before trying again" if tool in _ORDER_TOOLS else "nothing was changed"
    return (f"argument '{arg}': the number is out of range (amounts, prices and sizes have at most "
            f"{_MAX_ADJUSTED_EXPONENT} digits before and after the decimal point); {after}")


def _rewrite_error(mcp: Any, tool: str, arguments: dict[str, Any], text: str) -> str:
    prefix = f"Error executing tool {tool}"
    body = text[len(prefix):].lstrip(": ") if text.startswith(prefix) else text
    numbers = _number_params(mcp, tool)
    huge = _out_of_range(arguments, numbers if numbers is not None else set())
    typed = re.match(r"([A-Z][A-Za-z0-9]*(?:Error|Exception|Busy|Failed|Warning)): (.*)", body, re.S)
    if typed and not _leaks(typed.group(2)):  # "DatabaseBusy: pm-mcp's database is busy..." -> the sentence
        log.info("%s: dropped the type name %s from its error text", tool, typed.group(1))
        body = typed.group(2).strip() or body
    if _VALIDATION_TEXT.search(body):
        errors: list[dict[str, Any]] = []
        try:
            found = mcp._tool_manager.get_tool(tool)  # noqa: SLF001 - the SDK's validation, run again for its details
            if found is not None:
                found.fn_metadata.validate_arguments(arguments)
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
        except Exception:  # noqa: BLE001 - fall back to the printed form
            errors = []
        body = describe_validation_error(errors or _parse_validation_text(body))
    elif huge:  # a number nobody means (1e999): whatever broke, that is what to fix
        body = _out_of_range_sentence(huge, tool)
    elif not body:  # the SDK's answer to a crash: its details are in the log already
        if tool in _ORDER_TOOLS:
            body = (f"pm-mcp could not finish {tool}: {INTERNAL_ERROR}. Check get_order / list_orders before trying "
                    "again")
        else:
            body = f"pm-mcp could not finish {tool}: {INTERNAL_ERROR}; nothing was changed"
    elif re.match(r"Resolver (for parameter )?'", body):
        log.info("%s: confirmation dialog failed: %s", tool, body[:300])
        body = ("the confirmation dialog's answer could not be used, so nothing was placed; ask the person again "
                "(confirm_order) or use the approval page link from the proposal")
    elif _leaks(body):
        log.warning("%s: an error text carried internals; replaced: %s", tool, body[:2000])
        after = "check get_order / list_orders before trying again" if tool in _ORDER_TOOLS else "nothing was changed"
        body = f"pm-mcp could not finish {tool}: {INTERNAL_ERROR}; {after}"
    body = bound_text(_name_the_argument(body, arguments))
    return f"{prefix}: {body}"


def tool_error_middleware(mcp: Any):
    """A server middleware: every error answer of tools/call becomes a bounded sentence (see the module doc)."""

    from pm_mcp.redaction import has_secrets, redact

    async def bounded_tool_errors(ctx, call_next):
        result = await call_next(ctx)
        if ctx.method != "tools/call" or not isinstance(result, dict):
            return result
        if not result.get("isError"):
            if has_secrets() and isinstance(result.get("content"), list):  # the net under "never echo a secret"
                result = {**result, "content": [
                    {**c, "text": redact(c["text"])} if isinstance(c, dict) and isinstance(c.get("text"), str) else c
                    for c in result["content"]]}
            return result
        params = ctx.params if isinstance(ctx.params, dict) else {}
        tool = str(params.get("name") or "")
        arguments = params.get("arguments") if isinstance(params.get("arguments"), dict) else {}
        content = result.get("content")
        if not isinstance(content, list) or not content or not isinstance(content[0], dict) \
                or content[0].get("type") != "text":
            return result
        try:
            text = _rewrite_error(mcp, tool, arguments, str(content[0].get("text", "")))
        except Exception:  # noqa: BLE001 - never lose the answer over its wording
            log.exception("could not reword the error of %s", tool)
            text = f"Error executing tool {tool}: pm-mcp could not finish {tool}: {INTERNAL_ERROR}"
        return {**result, "content": [{**content[0], "text": redact(text)}, *content[1:]]}

    return bounded_tool_errors


def _accepts_string(schema: dict) -> bool:
    if schema.get("type") == "string":
        return True
    return any(isinstance(alt, dict) and alt.get("type") == "string" for alt in schema.get("anyOf", ()))


def _string_items(schema: dict) -> bool:
    for alt in [schema, *schema.get("anyOf", ())]:
        if isinstance(alt, dict) and alt.get("type") == "array" and isinstance(alt.get("items"), dict) \
                and _accepts_string(alt["items"]):
            return True
    return False


def _as_text(v: Any) -> Any:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return v
    return str(v) if isinstance(v, int) or v != int(v) else str(int(v))


def ids_as_clients_send_them(mcp: Any):
    """A server middleware: an id sent as a JSON number (the MCP Inspector CLI sends 559652, not "559652") is
    taken as the string it stands for, for every argument whose schema is a string (or a list of strings)
    and does not also accept a number. Nothing else about the arguments changes."""

    async def numbers_to_ids(ctx, call_next):
        if ctx.method == "tools/call" and isinstance(ctx.params, dict) and isinstance(ctx.params.get("arguments"), dict):
            try:
                props = mcp._tool_manager.get_tool(str(ctx.params.get("name"))).parameters.get("properties", {})  # noqa: SLF001
            except Exception:  # noqa: BLE001 - an unknown tool is reported by the SDK itself
                props = {}
            args = dict(ctx.params["arguments"])
            changed = False
            for name, value in args.items():
                schema = props.get(name)
                if not isinstance(schema, dict) or "number" in str(schema.get("type")) or any(
                        isinstance(a, dict) and a.get("type") in ("number", "integer") for a in schema.get("anyOf", ())):
                    continue
                if _accepts_string(schema) and _as_text(value) is not value:
                    args[name], changed = _as_text(value), True
                elif _string_items(schema) and isinstance(value, list) and any(_as_text(x) is not x for x in value):
                    args[name], changed = [_as_text(x) for x in value], True
            if changed:
                ctx.params = {**ctx.params, "arguments": args}
        return await call_next(ctx)

    return numbers_to_ids

