"""First contact (issue #17): a terminal that behaves, configuration errors a person can act on, a doctor that
tells the truth. Every check runs the real `pm-mcp` process; the Ctrl-C checks give it a real terminal (a pty)
and press Ctrl-C as a person would (the terminal's line discipline turns it into SIGINT)."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import REPO, pm_mcp_command

README = (REPO / "README.md").read_text(encoding="utf-8")


@pytest.fixture
def env(pm_env):
    return pm_env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Terminal:
    """`pm-mcp ARGS` with stdin, stdout and stderr on one pty, as when typed in a terminal."""

    def __init__(self, args: list[str], env: dict[str, str]):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: exec the server (nothing else runs here)
            os.chdir(REPO)
            cmd = [*pm_mcp_command(), *args]
            os.execve(cmd[0], cmd, env)
        self.screen = b""
        self.status: int | None = None

    def read_until(self, needle: bytes, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while needle not in self.screen and time.monotonic() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:  # the child closed the terminal
                    return needle in self.screen
                if not chunk:
                    break
                self.screen += chunk
        return needle in self.screen

    def type(self, data: bytes) -> None:
        os.write(self.fd, data)

    def wait(self, timeout: float) -> int | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.read_until(b"\0never", 0.1)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
                self.read_until(b"\0never", 0.2)
                return self.status
        return None

    def close(self) -> None:
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except ProcessLookupError:
                pass
        os.close(self.fd)

    @property
    def text(self) -> str:
        return self.screen.decode(errors="replace")


INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                         "clientInfo": {"name": "terminal", "version": "0"}}}


def test_ctrl_c_ends_the_stdio_server_in_a_terminal_at_once(env):
    term = Terminal([], env)
    try:
        assert term.read_until(b"Ctrl-C or Ctrl-D to quit", 30), term.text
        command = pm_mcp_command()  # the hint names what a client's config needs: this command, absolute
        assert f'"command": {json.dumps(command[0])}' in term.text, term.text
        # it still serves what is typed (a client's first message, pasted), through the terminal
        term.type(json.dumps(INITIALIZE).encode() + b"\n")
        assert term.read_until(b'"serverInfo"', 30), term.text  # the answer (the echo has no serverInfo)
        started = time.monotonic()
        term.type(b"\x03")  # Ctrl-C
        status = term.wait(10)
        took = time.monotonic() - started
    finally:
        term.close()
    assert status == 0, term.text
    assert took < 5, f"Ctrl-C took {took:.1f} s"
    assert "pm-mcp: stopped." in term.text and "Traceback" not in term.text, term.text


def test_ctrl_c_ends_serve_http_quietly(env):
    port = _free_port()
    term = Terminal(["serve", "--http", "--port", str(port)], env)
    try:
        assert term.read_until(f"http://127.0.0.1:{port}/mcp".encode(), 60), term.text
        deadline = time.monotonic() + 30
        while True:  # the address is printed just before uvicorn binds it
            try:
                socket.create_connection(("127.0.0.1", port), timeout=5).close()
                break
            except ConnectionRefusedError:
                assert time.monotonic() < deadline, term.text
                time.sleep(0.1)
        term.type(b"\x03")
        status = term.wait(15)
    finally:
        term.close()
    assert status == 0, term.text
    after = term.text.split("/mcp", 1)[1]
    assert "Traceback" not in after and "KeyboardInterrupt" not in after and "CancelledError" not in after, after
    assert "pm-mcp: stopped." in after, after


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([*pm_mcp_command(), *args], env=env, cwd=str(REPO), capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("args", [["doctor"], ["serve"]])
def test_a_bad_setting_is_named_with_its_value_and_the_allowed_values(env, args):
    r = _run(args, {**env, "PM_MCP_MODE": "liev"})
    assert r.returncode == 2
    assert "PM_MCP_MODE must be paper or live, got 'liev'" in r.stderr, r.stderr
    for internal in ("validation error for Settings", "pydantic", "literal_error", "input_value", "Traceback"):
        assert internal not in r.stderr, r.stderr


def test_every_problem_is_listed_and_a_config_file_key_is_named_as_such(env):
    home = Path(env["PM_MCP_HOME"])
    home.mkdir(parents=True)
    (home / "config.toml").write_text('confirm = "dialog"\n', encoding="utf-8")
    r = _run(["doctor"], {**env, "PM_MCP_BANKROLL": "-5", "PM_MCP_VENUES": "polymarket,betfair"})
    assert r.returncode == 2
    err = r.stderr
    assert f"confirm in {home / 'config.toml'} must be auto, elicitation, page or host, got 'dialog'" in err, err
    assert "PM_MCP_BANKROLL must be a positive amount" in err and "got '-5'" in err, err
    assert "PM_MCP_VENUES must name venues from" in err and "unknown: betfair" in err, err


def test_a_bad_secret_is_named_but_never_repeated(env):
    r = _run(["doctor"], {**env, "PM_MCP_KALSHI_ENV": "staging", "PM_MCP_HTTP_TOKEN": "tok-SECRET-1"})
    assert r.returncode == 2 and "PM_MCP_KALSHI_ENV must be prod or demo, got 'staging'" in r.stderr, r.stderr
    assert "tok-SECRET-1" not in r.stderr + r.stdout


def test_doctor_live_without_credentials_is_a_failure(env):
    r = _run(["doctor"], {**env, "PM_MCP_MODE": "live", "PM_MCP_CONFIRM": "elicitation"})
    assert r.returncode == 1, r.stdout + r.stderr
    assert "live orders are possible" not in r.stdout
    assert re.search(r"mode +: live +\[FAIL\] no enabled venue has usable live credentials", r.stdout), r.stdout
    assert "[derived] polymarket api credentials" in r.stdout and "[missing] polymarket api" not in r.stdout


def test_doctor_live_with_one_venue_set_up_passes_and_names_it(env):
    r = _run(["doctor"], {**env, "PM_MCP_MODE": "live", "PM_MCP_CONFIRM": "elicitation",
                          "PM_MCP_MANIFOLD_API_KEY": "manifold-FAKE-key"})
    assert r.returncode == 0, r.stdout + r.stderr
    assert "credentials present and well-formed for Manifold" in r.stdout, r.stdout
    assert "manifold-FAKE-key" not in r.stdout + r.stderr


def test_doctor_paper_needs_no_credentials(env):
    r = _run(["doctor"], env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "(paper trading; no real orders)" in r.stdout and "[missing]" not in r.stdout
    assert "[not set] manifold api key" in r.stdout and "[derived] polymarket api credentials" in r.stdout


def _readme_sections() -> set[str]:
    return {m.group(1).strip() for m in re.finditer(r"^#+ +(.+)$", README, re.M)}


def test_every_readme_section_we_point_at_exists():
    """Pointers to README sections in what pm-mcp prints ("See the README's 'Live credentials' section",
    `the README section "Live credentials"`) name sections that exist."""
    sections = _readme_sections()
    pointers = set()
    for path in (REPO / "pm_mcp").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        pointers |= {(path.name, m) for m in re.findall(r"README's '([^']+)' section", text)}
        pointers |= {(path.name, m) for m in re.findall(r'README section \\?"([^"\\]+)\\?"', text)}
    assert pointers, "the pointer patterns found nothing: update this test with the new wording"
    missing = sorted(p for p in pointers if p[1] not in sections)
    assert missing == [], f"pointers to README sections that do not exist: {missing}; sections: {sorted(sections)}"


def test_the_readme_points_only_at_files_in_the_repository():
    for target in re.findall(r"\]\(([^)#]+)\)", README):
        if "://" not in target:
            assert (REPO / target).exists(), target
    for name in re.findall(r"[\w./*-]+\.md\b", README):
        assert list(REPO.glob(name)), f"the README names {name}, which is not in the repository"


# ---- install as written: the README's and the example config's entries -------------------------------------

PLACEHOLDER = "/absolute/path/to/checkout"


def _entries() -> list[tuple[str, str, dict]]:
    """(where, name, entry) for every server entry in the README's JSON blocks and the example config."""
    out = []
    blocks = re.findall(r"```json\n(.*?)```", README, re.S)
    for i, block in enumerate(blocks):
        for name, entry in json.loads(block).get("mcpServers", {}).items():
            out.append((f"README block {i + 1}", name, entry))
    example = json.loads((REPO / "claude_desktop_config.example.json").read_text(encoding="utf-8"))
    for name, entry in example["mcpServers"].items():
        out.append(("claude_desktop_config.example.json", name, entry))
    return out


def test_no_entry_runs_a_package_the_index_does_not_have():
    entries = _entries()
    assert len(entries) >= 3
    for where, name, entry in entries:
        command, args = entry["command"], entry.get("args", [])
        assert command.startswith("/"), f"{where} {name}: Claude Desktop needs an absolute command path"
        if Path(command).name in ("uvx", "uv"):
            assert args[:2] == ["--from", PLACEHOLDER] and args[2:] == ["pm-mcp"], (where, name, args)
        else:
            assert command.startswith(PLACEHOLDER + "/.venv/bin/"), (where, name, command)
    # `uvx --from <checkout> pm-mcp` finds the command because the checkout's project declares it
    assert re.search(r'^\[project\.scripts\]\npm-mcp = "pm_mcp\.cli:main"', (REPO / "pyproject.toml").read_text(),
                     re.M)


@pytest.mark.anyio
async def test_the_venv_entries_start_a_server_that_lists_its_tools(pm_env):
    from mcp import Client, StdioServerParameters

    venv_bin = REPO / ".venv" / "bin"
    if not (venv_bin / "pm-mcp").exists():  # a venv elsewhere (tools/test.sh makes .venv in the checkout)
        venv_bin = Path(pm_mcp_command()[0]).parent
    venv_entries = [e for e in _entries() if e[2]["command"].startswith(PLACEHOLDER + "/.venv/bin/")]
    assert venv_entries
    for where, name, entry in venv_entries:
        command = str(venv_bin / Path(entry["command"]).name)
        params = StdioServerParameters(command=command, args=entry.get("args", []), env={**pm_env, **entry["env"]},
                                       cwd="/")
        async with Client(params) as client:
            tools = await client.list_tools()
        assert len(tools.tools) > 20, (where, name)
