"""A team's pm-mcp on one machine: PostgreSQL, three `pm-mcp serve --http` replicas and HAProxy in front.

    .venv/bin/python tools/deploy/run_local.py                 # until Ctrl-C; prints the URL and the token file
    .venv/bin/python tools/deploy/run_local.py --check         # start, check through the balancer, stop
    .venv/bin/python tools/deploy/run_local.py --database-url postgresql://pm@db.internal/pm   # your own server

What it does (each step is what you would do on a real host):
1. PostgreSQL: with --database-url, that database; otherwise Debian's server in <data>/pg (initdb once, then
   pg_ctl start; unix socket only, no TCP port; as root it runs as ``nobody``).
2. Secrets, generated once and kept 0600 in <data>: the bearer token every client sends (``http_token``;
   PM_MCP_HTTP_TOKEN) and the request-state key every replica shares (``state_key``; PM_MCP_STATE_KEYS).
3. Three replicas on 127.0.0.1 (--replica-ports), each with its own PM_MCP_HOME (<data>/replica-N: the local
   market cache) and the same PM_MCP_DATABASE_URL, PM_MCP_PUBLIC_URL, token and key. Other PM_MCP_* settings of
   your environment (mode, venues, risk caps) are passed to every replica unchanged.
4. HAProxy with tools/deploy/haproxy.cfg on --port: round robin for 2026-07-28 clients, session affinity on
   Mcp-Session-Id for legacy ones, health checks on /healthz.
Logs: <data>/logs/. The approval links point at PM_MCP_PUBLIC_URL (--public-url, default the balancer's URL).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tools.deploy import cluster  # noqa: E402 - after the path is set


def pm_mcp_command() -> list[str]:
    exe = shutil.which("pm-mcp", path=str(Path(sys.executable).parent)) or shutil.which("pm-mcp")
    return [exe] if exe else [sys.executable, "-m", "pm_mcp"]


def secret_file(path: Path, make) -> str:
    """A secret kept 0600 in ``path``: read when present, else generated with ``make()`` and written."""
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        value = make()
        fh.write(value + "\n")
    return value


def pg_bindir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[4]))
    if found:
        return found[-1].parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def start_postgres(root: Path) -> tuple[str, list[str]]:
    """Debian's PostgreSQL in ``root`` (created once); (its URL, the command that stops it)."""
    bindir = pg_bindir()
    if bindir is None:
        raise SystemExit("PostgreSQL is not installed (Debian: apt-get install postgresql), or pass --database-url")
    as_user = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
    data, sock = root / "data", root / "sock"
    sock.mkdir(parents=True, exist_ok=True)
    if as_user:
        root.chmod(0o755)
        for p in (root, sock):
            shutil.chown(p, user="nobody")
    if not (data / "PG_VERSION").exists():
        subprocess.run([*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                        "--locale=C", "-E", "UTF8"], check=True, capture_output=True)
    opts = f"-c listen_addresses='' -c unix_socket_directories='{sock}' -c max_connections=200"
    subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(root / "log"), "-w",
                    "start"], check=True, capture_output=True)
    stop = [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]
    return f"postgresql://postgres@/postgres?host={sock}", stop


def check(lb_port: int, token: str) -> None:
    """Through the balancer: /healthz, then the official MCP client lists the tools and reads the risk policy."""
    import asyncio

    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    status, body = cluster.health(lb_port)
    assert status == 200, (status, body)

    async def run() -> None:
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
            async with Client(streamable_http_client(f"http://127.0.0.1:{lb_port}/mcp", http_client=http)) as client:
                tools = (await client.list_tools()).tools
                policy = await client.call_tool("get_risk_policy", {})
                assert not policy.is_error, policy.content[0].text
                print(f"check: {len(tools)} tools through the balancer; get_risk_policy answered")

    asyncio.run(run())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=Path.cwd() / ".pm-mcp-deploy", help="where state and logs live")
    ap.add_argument("--port", type=int, default=8080, help="the balancer's port on 127.0.0.1")
    ap.add_argument("--replica-ports", default="8701,8702,8703")
    ap.add_argument("--public-url", help="what people reach (default http://127.0.0.1:<port>)")
    ap.add_argument("--database-url", help="an existing PostgreSQL database instead of a local server")
    ap.add_argument("--check", action="store_true", help="start, check through the balancer, then stop")
    args = ap.parse_args(argv)

    data = args.data.resolve()
    (data / "logs").mkdir(parents=True, exist_ok=True)
    data.chmod(0o700) if os.geteuid() != 0 else data.chmod(0o711)  # nobody (PostgreSQL) must reach <data>/pg
    ports = [int(p) for p in args.replica_ports.split(",")]
    public_url = args.public_url or f"http://127.0.0.1:{args.port}"
    token = secret_file(data / "http_token", lambda: secrets.token_urlsafe(32))
    state_key = secret_file(data / "state_key", lambda: secrets.token_hex(32))

    procs: list[subprocess.Popen] = []
    stop_pg: list[str] | None = None
    try:
        db_url = args.database_url
        if db_url is None:
            db_url, stop_pg = start_postgres(data / "pg")
        env = {**os.environ, "PM_MCP_DATABASE_URL": db_url, "PM_MCP_HTTP_TOKEN": token,
               "PM_MCP_STATE_KEYS": state_key, "PM_MCP_PUBLIC_URL": public_url}
        for i, port in enumerate(ports, start=1):
            home = data / f"replica-{i}"
            procs.append(cluster.start_replica(pm_mcp_command(), {**env, "PM_MCP_HOME": str(home)}, port,
                                               data / "logs" / f"replica-{i}.log"))
        for i, (port, proc) in enumerate(zip(ports, procs, strict=True), start=1):
            cluster.wait_healthy(port, proc, log_path=data / "logs" / f"replica-{i}.log")
        procs.append(cluster.start_haproxy(f"127.0.0.1:{args.port}", [f"127.0.0.1:{p}" for p in ports],
                                           data / "logs" / "haproxy.log"))
        print(f"pm-mcp for a team: MCP at {public_url}/mcp (Authorization: Bearer <the token in {data / 'http_token'}>)"
              f"\n  replicas on 127.0.0.1:{', '.join(map(str, ports))}; logs in {data / 'logs'}", flush=True)
        if args.check:
            check(args.port, token)
            return 0
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        while all(p.poll() is None for p in procs):
            time.sleep(1)
        print("a process ended; stopping the rest (see the logs)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for proc in reversed(procs):
            cluster.stop(proc)
        if stop_pg is not None:
            subprocess.run(stop_pg, capture_output=True)


if __name__ == "__main__":
    raise SystemExit(main())
