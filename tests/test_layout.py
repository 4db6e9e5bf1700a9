"""The layout's rules, checked on the source (ast, no imports run):

- no import cycle between our modules, counting imports inside functions too (a cycle hidden behind a
  function-level import is still a cycle; ``if TYPE_CHECKING:`` imports never run and do not count);
  ``from pkg import submodule`` is an edge to the submodule;
- ``pm_mcp.domain`` imports nothing of ours outside ``pm_mcp.domain``;
- venue names in code: the goal is none outside the venue packages and the registry. Until the remaining
  modules read what they need from the market model, VENUE_NAMES_ALLOWED lists where they still appear with
  at most how many; a new module, or more of them, fails (the list may only shrink).
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "pm_mcp"
VENUE_LITERAL = re.compile(r"[\"'](polymarket|kalshi|manifold)[\"']")
VENUE_PACKAGES = ("pm_mcp.venues.polymarket", "pm_mcp.venues.kalshi", "pm_mcp.venues.manifold")
# module -> the most venue-name literals it may still hold (2026-12-02); shrink it, never grow it
VENUE_NAMES_ALLOWED = {
    "pm_mcp.venues.registry": 99,  # the registry itself: the one place that lists the venues
    "pm_mcp.domain.fees": 2,  # LEGACY_KINDS: fee kinds as rows stored before 2026-12-02 spell them (data, not code)
    "pm_mcp.domain.intents": 1,  # the currency of journal rows written before markets carried one (data)
    # who settles a market when the rules do not say (parse_rules(text, venue=...) without a market): the one
    # venue fact the pure rule reader still keys by name (a market given: what it carries, pm_mcp.domain.rules.parse)
    "pm_mcp.domain.rules.clauses": 3,
}


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        name = ".".join(rel.parts)
        out[name.removesuffix(".__init__")] = path
    return out


def _edges(mods: dict[str, Path]) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for mod, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        pkg = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
        typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                       and "TYPE_CHECKING" in ast.unparse(block.test) for n in ast.walk(block)}
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue  # annotations only: never imported at run time
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = pkg.split(".")
                    base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
                subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in mods]
                targets = subs if len(subs) == len(node.names) else [base, *subs]
            for t in targets:
                while t and t not in mods:
                    t = t.rsplit(".", 1)[0] if "." in t else ""
                if t and t != mod and t.startswith("pm_mcp"):
                    edges[mod].add(t)
    return edges


def _cycles(mods, edges) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(mods):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle_even_behind_function_level_imports():
    mods = _modules()
    assert _cycles(mods, _edges(mods)) == []


def test_domain_imports_nothing_of_ours_outside_domain():
    mods = _modules()
    edges = _edges(mods)
    bad = sorted((m, t) for m in mods if m.startswith("pm_mcp.domain") for t in edges.get(m, ())
                 if not t.startswith("pm_mcp.domain"))
    assert bad == []


def test_venue_names_only_where_still_allowed_and_never_more():
    mods = _modules()
    found = {}
    for mod, path in mods.items():
        if mod.startswith(VENUE_PACKAGES):
            continue
        n = len(VENUE_LITERAL.findall(path.read_text(encoding="utf-8")))
        if n:
            found[mod] = n
    over = {m: (n, VENUE_NAMES_ALLOWED.get(m, 0)) for m, n in found.items() if n > VENUE_NAMES_ALLOWED.get(m, 0)}
    assert over == {}, f"venue names in code outside the venue packages (found, allowed): {over}"


SURFACE = ROOT / "surface"
MAX_SURFACE_FUNCTION_LINES = 120


def _functions(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def test_no_function_in_the_surface_is_longer_than_120_lines():
    long = {}
    for path in sorted(SURFACE.glob("*.py")):
        for fn in _functions(ast.parse(path.read_text(encoding="utf-8"))):
            n = fn.end_lineno - fn.lineno + 1
            if n > MAX_SURFACE_FUNCTION_LINES:
                long[f"{path.name}:{fn.name}"] = n
    assert long == {}, f"surface functions over {MAX_SURFACE_FUNCTION_LINES} lines: {long}"


def test_tools_are_module_level_functions():
    """A tool is importable and testable on its own: no function is defined inside ``register`` (it only hands
    the module's functions to the server)."""
    nested = []
    for path in sorted(SURFACE.glob("*.py")):
        for fn in _functions(ast.parse(path.read_text(encoding="utf-8"))):
            if fn.name == "register":
                nested += [f"{path.name}:{n.name}" for n in ast.walk(fn)
                           if n is not fn and isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    assert nested == [], f"functions defined inside register(): {nested}"
