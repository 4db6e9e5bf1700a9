"""`pm-mcp`: serve (stdio by default, --http), doctor, version, set-pin, enroll."""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import shlex
import sys

from pm_mcp import __version__

log = logging.getLogger("pm_mcp")

TTY_HINT = """\
pm-mcp {version}: a prediction-market MCP server (Polymarket, Kalshi, Manifold; paper trading by default).

It speaks the Model Context Protocol on stdin/stdout and is meant to be started by an MCP client,
not typed at. To use it:
  - Claude Desktop / Cursor: add it to the client's config with {config}
                             (see claude_desktop_config.example.json and the README)
  - MCP Inspector:           npx @modelcontextprotocol/inspector {command}
  - over HTTP:               pm-mcp serve --http --port 8765   (then connect to http://127.0.0.1:8765/mcp)
  - check the setup:         pm-mcp doctor
Waiting for an MCP client on stdin (Ctrl-C or Ctrl-D to quit)...
"""


def _configure_logging(level: str) -> None:
    logging.basicConfig(stream=sys.stderr, level=getattr(logging, level.upper(), logging.WARNING),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _load_settings_or_exit():
    from pm_mcp.settings import describe_config_error, load_settings

    try:
        return load_settings()
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        problems = describe_config_error(exc)
        print("pm-mcp: configuration error" + (": " + problems[0] if len(problems) == 1 else ":\n  "
                                               + "\n  ".join(problems)), file=sys.stderr)
        raise SystemExit(2) from None


def _build_server_quickly(settings, *, on_state=None):
    """Import the SDK and build the server with the cyclic garbage collector paused.

    Start-up allocates ~150k long-lived objects (the SDK's and our pydantic models, their schemas);
    with the collector on, CPython re-scans them in several full collections while they are being
    created (~100+ ms of a cold start on this machine). They live as long as the process, so they are
    frozen (moved out of the collector's generations) instead, and the collector resumes for what the
    server allocates from then on."""
    gc.disable()
    try:
        from pm_mcp.server import build_server

        mcp = build_server(settings, on_state=on_state)
        gc.freeze()
    finally:
        gc.enable()
    return mcp


# A hosted service (PM_MCP_PUBLIC_URL: people reach it over the network) trading live would trade with the operator's
# venue keys for whoever holds the bearer token, and live approval needs the person's own presence factor bound to
# their own sign-in; pm-mcp has no per-user venue credentials yet (README "Running for a team": the threat model).
HOSTED_LIVE_REFUSED = (
    "pm-mcp: PM_MCP_MODE=live is refused with PM_MCP_PUBLIC_URL (a hosted service): every person reaching the "
    "service would trade with this server's venue keys, and pm-mcp has no per-user venue credentials yet (see the "
    "README's 'Running for a team' section). Run the hosted service in paper mode, and trade live on your own machine "
    "(stdio, or serve --http without PM_MCP_PUBLIC_URL).")


def oauth_refusal(settings, *, http: bool) -> str | None:
    """Why OAuth (PM_MCP_AUTH_ISSUER) cannot start with these settings, or None."""
    if not settings.oauth:
        return None
    if not http:
        return ("PM_MCP_AUTH_ISSUER is for `pm-mcp serve --http` (an OAuth resource server); stdio has one local "
                "person and no access tokens: unset it.")
    if not settings.public_url:
        return ("PM_MCP_AUTH_ISSUER needs PM_MCP_PUBLIC_URL, the https:// URL clients and people reach (its /mcp is the "
                "protected resource, the default PM_MCP_AUTH_AUDIENCE and where the approval page signs people in).")
    from urllib.parse import urlsplit

    from pm_mcp.http_serve import is_loopback

    parts = urlsplit(settings.public_url)
    if parts.scheme != "https" and not is_loopback(parts.hostname or ""):
        return (f"PM_MCP_PUBLIC_URL must be an https:// URL with PM_MCP_AUTH_ISSUER set (http:// only on a loopback "
                f"host, for tests), got {settings.public_url!r}: access tokens and sign-in cookies must not cross the "
                "network in clear.")
    if settings.confirm == "host" and not settings.allow_host_confirm:
        return ("PM_MCP_CONFIRM=host is refused with PM_MCP_AUTH_ISSUER set: the host's own prompt is not the signed-in "
                "person's approval (any client holding a token could answer it). Use PM_MCP_CONFIRM=auto or page, or, "
                "if every client of this service is trusted to ask its user, set PM_MCP_ALLOW_HOST_CONFIRM=1.")
    if settings.confirm in ("auto", "page") and not settings.auth_page_client_id:
        return ("PM_MCP_AUTH_PAGE_CLIENT_ID is not set: with PM_MCP_AUTH_ISSUER the approval page signs the person in at "
                "the issuer (authorization code + PKCE) as a public client registered there with the redirect URI "
                f"{settings.public_url}/auth/callback; give its client id, or set PM_MCP_CONFIRM=elicitation to "
                "confirm in the client's dialog only.")
    return None


def cmd_serve(args: argparse.Namespace) -> int:
    gc.disable()  # resumed by _build_server_quickly (settings load pulls in pydantic)
    settings = _load_settings_or_exit()
    _configure_logging(settings.log_level)
    from pm_mcp import redaction
    from pm_mcp.store import StoreError

    # every log line through redact(): the configured secrets (and the key parts of RPC URLs) never reach
    # stderr, whoever logs them (web3 and aiosqlite print URLs and SQL parameters at DEBUG)
    redaction.register_secrets(settings.secret_values())
    redaction.install_log_redaction()

    if not args.http and settings.public_url:
        print("pm-mcp: PM_MCP_PUBLIC_URL is for `pm-mcp serve --http` (the approval page is then served on the HTTP "
              "port); unset it for stdio, where the page has its own loopback port.", file=sys.stderr)
        return 2
    refusal = oauth_refusal(settings, http=args.http)
    if refusal:
        print(f"pm-mcp: {refusal}", file=sys.stderr)
        return 2
    if not args.http:
        in_terminal = sys.stdin.isatty()
        if in_terminal:
            _quit_on_ctrl_c()  # before the hint that says so
            command = _this_command()
            config = ", ".join(f'"{k}": {json.dumps(v)}' for k, v in
                               zip(("command", "args"), (command[0], command[1:]), strict=True) if v)
            sys.stderr.write(TTY_HINT.format(version=__version__, config=config, command=shlex.join(command)))
            sys.stderr.flush()
        mcp = _build_server_quickly(settings)
        try:
            mcp.run()
        except KeyboardInterrupt:
            pass
        except BaseException as exc:  # the SDK wraps lifespan failures in exception groups
            store_error = _find_exception(exc, StoreError)
            if store_error is None:
                raise
            print(f"pm-mcp: {store_error}", file=sys.stderr)
            return 2
        if in_terminal:
            print("pm-mcp: stopped.", file=sys.stderr, flush=True)
        return 0

    if settings.public_url and settings.mode == "live":
        print(HOSTED_LIVE_REFUSED, file=sys.stderr)
        return 2
    from pm_mcp.http_serve import serve_http

    return serve_http(settings, args.host, args.port,
                      lambda on_state: _build_server_quickly(settings, on_state=on_state))


def _this_command() -> list[str]:
    """The command being run, absolute (what a client's config needs): `pm-mcp`'s path, else python -m pm_mcp."""
    import shutil
    from pathlib import Path

    found = shutil.which(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if found and Path(found).name.startswith("pm-mcp"):
        return [str(Path(found).absolute())]
    return [sys.executable, "-m", "pm_mcp"]


def _quit_on_ctrl_c() -> None:
    """Typed in a terminal, Ctrl-C ends the stdio server at once, as Ctrl-D does.

    The SDK reads stdin in a worker thread that a KeyboardInterrupt cannot stop: the server would wait for
    that read (Enter or Ctrl-D) before it could exit. So the terminal is read by a daemon thread of ours that
    forwards what is typed to a pipe, the pipe becomes stdin, and Ctrl-C closes the pipe: the server sees the
    end of its input and shuts down the normal way (the store closed, the background runner stopped). A second
    Ctrl-C interrupts as usual."""
    import signal
    import threading

    terminal = os.dup(0)
    read_end, write_end = os.pipe()
    os.dup2(read_end, 0)
    os.close(read_end)
    lock = threading.Lock()
    open_end = [write_end]

    def close_input() -> None:
        with lock:
            if open_end:
                os.close(open_end.pop())

    def forward() -> None:
        try:
            while data := os.read(terminal, 65536):
                with lock:
                    if not open_end:
                        return
                    os.write(open_end[0], data)
        except OSError:
            pass
        finally:
            close_input()

    def on_ctrl_c(_signum, _frame) -> None:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        sys.stderr.write("\npm-mcp: Ctrl-C: stopping...\n")
        sys.stderr.flush()
        close_input()

    threading.Thread(target=forward, name="pm-mcp-terminal-stdin", daemon=True).start()
    signal.signal(signal.SIGINT, on_ctrl_c)


def _find_exception(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    if isinstance(exc, kind):
        return exc
    for inner in getattr(exc, "exceptions", ()) or ():
        found = _find_exception(inner, kind)
        if found is not None:
            return found
    if exc.__cause__ is not None and exc.__cause__ is not exc:
        return _find_exception(exc.__cause__, kind)
    return None


def cmd_doctor(_args: argparse.Namespace) -> int:
    from pm_mcp.doctor import config_report

    settings = _load_settings_or_exit()
    report, status = config_report(settings)
    print(report)
    return status


def _read_new_pin(args: argparse.Namespace) -> str | None:
    """The new PIN: typed twice at the terminal (not echoed), or one line from stdin with --stdin."""
    import getpass

    if args.stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        print("pm-mcp set-pin: stdin is not a terminal; type the PIN in a terminal, or pass --stdin to read "
              "one line from stdin (for scripted setups)", file=sys.stderr)
        return None
    first = getpass.getpass("New approval PIN (at least 6 digits or characters): ")
    second = getpass.getpass("The same PIN again: ")
    if first != second:
        print("pm-mcp set-pin: the two PINs differ; nothing was changed", file=sys.stderr)
        return None
    return first


def cmd_set_pin(args: argparse.Namespace) -> int:
    """`pm-mcp set-pin`: the PIN the approval page asks for before a LIVE order is sent."""
    from pm_mcp.execution import presence

    settings = _load_settings_or_exit()
    home = settings.home
    if args.remove:
        found = presence.remove_pin(home)
        print("PIN removed." if found else "No PIN was set.")
        return 0
    pin = _read_new_pin(args)
    if pin is None:
        return 2
    try:
        presence.set_pin(home, pin)
    except ValueError as exc:
        print(f"pm-mcp set-pin: {exc}; nothing was changed", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"pm-mcp set-pin: could not write to {home} ({exc.strerror or exc})", file=sys.stderr)
        return 2
    print(f"PIN set (stored as a salted scrypt hash in {home}). The approval page asks for it before a LIVE "
          f"order is sent; after {presence.MAX_TRIES} wrong PINs in a row it locks for a while.")
    return 0


def cmd_enroll(args: argparse.Namespace) -> int:
    """`pm-mcp enroll`: serve the passkey enrolment page on localhost, open it, wait until it is done."""
    import asyncio

    from pm_mcp.execution.approval import run_enrolment

    settings = _load_settings_or_exit()
    _configure_logging(settings.log_level)
    try:
        return asyncio.run(run_enrolment(settings.home, port=args.port, open_browser=not args.no_browser,
                                         timeout_s=args.timeout, name=args.name))
    except KeyboardInterrupt:
        print("pm-mcp enroll: cancelled; no passkey was added", file=sys.stderr)
        return 1


def cmd_watch(_args: argparse.Namespace) -> int:
    """`pm-mcp watch`: the runner (watches, resting orders) as a long-running process (pm_mcp.watcher)."""
    import asyncio

    from pm_mcp import redaction
    from pm_mcp.watcher import run_watcher

    settings = _load_settings_or_exit()
    _configure_logging(settings.log_level)
    redaction.register_secrets(settings.secret_values())
    redaction.install_log_redaction()
    return asyncio.run(run_watcher(settings))


async def _policy_report(settings, owner: str | None, clear: bool) -> int:  # noqa: ANN001 - Settings
    from pm_mcp.domain.policy import RiskPolicy, with_tightenings
    from pm_mcp.execution.journal import Journal
    from pm_mcp.store_pg import open_store

    url = settings.database_url.get_secret_value() if settings.database_url else None
    store = await open_store(settings.db_path, url)
    try:
        journal = Journal(store)
        if clear:
            n = await journal.clear_tightenings(owner)
            await journal.log("policy.cleared", None, {"owner": owner, "tightenings": n})
            print(f"removed {n} stored tightening(s) of {owner}; their policy is the configured one again")
            return 0
        owners = [(owner, 0)] if owner else await journal.tightening_owners()
        if not owners:
            print("no stored tightenings: everyone's policy is the configured one")
        base = (RiskPolicy.from_settings(settings), RiskPolicy.from_settings(settings, currency="MANA"))
        for who, _n in owners:
            rows = await journal.tightenings(owner=who)
            print(f"{who}: {len(rows)} tightening(s)")
            for r in rows:
                limits = ", ".join(f"{k}={v}" for k, v in sorted(r["limits"].items()))
                print(f"  {r['created_at']} {r['currency']}: {limits} (by {r['replica'] or 'unknown process'})")
            try:
                pairs = [(r["currency"], r["limits"]) for r in rows]
                for pol in (with_tightenings(b, pairs) for b in base):
                    print(f"  in force ({pol.currency}): per order {pol.max_order_usd}, daily {pol.max_daily_usd}, "
                          f"bankroll {pol.bankroll}, per event {pol.max_event_fraction}, Kelly x{pol.kelly_fraction}, "
                          f"venues {', '.join(pol.allowed_venues) or 'none'}")
            except ValueError as exc:
                print(f"  cannot be applied: {exc} (this person's orders are refused; --clear removes them)")
        return 0
    finally:
        await store.close()


def cmd_policy(args: argparse.Namespace) -> int:
    """`pm-mcp policy`: the risk-policy tightenings people stored (tighten_risk_policy), and the operator's undo."""
    import asyncio

    from pm_mcp.store import StoreError

    if args.clear and not args.owner:
        print("pm-mcp policy: --clear needs --owner (the owner as listed, e.g. local)", file=sys.stderr)
        return 2
    settings = _load_settings_or_exit()
    _configure_logging(settings.log_level)
    import pm_mcp.execution.journal  # noqa: F401 - the execution migrations

    try:
        return asyncio.run(_policy_report(settings, args.owner, args.clear))
    except StoreError as exc:
        print(f"pm-mcp policy: {exc}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="pm-mcp", description="Prediction-market MCP server (stdio by default).")
    parser.add_argument("--version", action="version", version=f"pm-mcp {__version__}")
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="serve MCP (stdio by default)")
    serve.add_argument("--http", action="store_true", help="serve Streamable HTTP instead of stdio")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=int(os.environ.get("PM_MCP_PORT", "8765")))
    sub.add_parser("doctor", help="print the effective configuration (secrets masked) and checks")
    sub.add_parser("version", help="print the version")
    set_pin = sub.add_parser("set-pin", help="set the PIN that approves LIVE orders on the approval page")
    set_pin.add_argument("--stdin", action="store_true",
                         help="read the PIN from one line of stdin instead of asking twice (scripted setups)")
    set_pin.add_argument("--remove", action="store_true", help="remove the PIN")
    enroll = sub.add_parser("enroll", help="enrol a passkey that approves LIVE orders (opens a local page)")
    enroll.add_argument("--no-browser", action="store_true", help="only print the page's address")
    enroll.add_argument("--port", type=int, default=0, help="port on localhost (default: a free one)")
    enroll.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the passkey")
    enroll.add_argument("--name", default="passkey", help="a name for this passkey (shown by doctor)")
    sub.add_parser("watch", help="run the watches and resting-order sync without a client (same data directory)")
    policy = sub.add_parser("policy", help="list the risk-policy tightenings people stored; --clear removes one "
                                           "person's (the tool itself only tightens)")
    policy.add_argument("--owner", help="only this owner (as listed: local, or <issuer>#<sub> with OAuth)")
    policy.add_argument("--clear", action="store_true", help="remove that owner's stored tightenings")
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["serve", *(argv or [])])
    if args.command == "version":
        print(f"pm-mcp {__version__}")
        return 0
    if args.command == "doctor":
        return cmd_doctor(args)
    if args.command == "set-pin":
        return cmd_set_pin(args)
    if args.command == "enroll":
        return cmd_enroll(args)
    if args.command == "policy":
        return cmd_policy(args)
    if args.command == "watch":
        return cmd_watch(args)
    return cmd_serve(args)
