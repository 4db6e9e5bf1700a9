"""Pieces of a small deployment on one machine: `pm-mcp serve --http` replicas and HAProxy running
tools/deploy/haproxy.cfg in front of them. Used by tools/deploy/run_local.py and tests/test_e2e_balancer.py.

    replica = start_replica(["pm-mcp"], env, port, log_path)   # env: PM_MCP_* of that replica
    wait_healthy(port, replica)                                # /healthz answers 200
    lb = start_haproxy(f"127.0.0.1:{lb_port}", [f"127.0.0.1:{p}" for p in ports], log_path)
    stop(lb); stop(replica)
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

HAPROXY_CFG = Path(__file__).with_name("haproxy.cfg")
REPLICAS_IN_CFG = 3


def haproxy_binary() -> str | None:
    found = shutil.which("haproxy")
    if found:
        return found
    return "/usr/sbin/haproxy" if os.access("/usr/sbin/haproxy", os.X_OK) else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_replica(command: list[str], env: dict[str, str], port: int, log_path: Path,
                  cwd: str | None = None) -> subprocess.Popen:
    """One `serve --http` process on 127.0.0.1:``port``, its stderr in ``log_path``."""
    log = open(log_path, "ab")  # noqa: SIM115 - the child owns it; closed when this process ends
    return subprocess.Popen([*command, "serve", "--http", "--host", "127.0.0.1", "--port", str(port)], env=env,
                            cwd=cwd, stdout=subprocess.DEVNULL, stderr=log)


def health(port: int, timeout: float = 2.0) -> tuple[int, str]:
    """(status, body) of GET /healthz on 127.0.0.1:``port`` ((0, reason) when nothing answers)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=timeout) as resp:  # noqa: S310
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError as exc:
        return 0, str(exc)


def wait_healthy(port: int, proc: subprocess.Popen | None = None, timeout: float = 90.0,
                 log_path: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    got: tuple[int, str] = (0, "")
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-3000:] if log_path and log_path.exists() else ""
            raise RuntimeError(f"the replica on port {port} exited with {proc.returncode}:\n{tail}")
        got = health(port)
        if got[0] == 200:
            return
        time.sleep(0.2)
    raise TimeoutError(f"the replica on port {port} never became healthy (last answer: {got})")


def haproxy_env(bind: str, replicas: list[str]) -> dict[str, str]:
    if len(replicas) != REPLICAS_IN_CFG:
        raise ValueError(f"haproxy.cfg lists {REPLICAS_IN_CFG} replicas; got {len(replicas)} addresses")
    env = {**os.environ, "PM_LB_BIND": bind}
    env.update({f"PM_REPLICA_{i}": addr for i, addr in enumerate(replicas, start=1)})
    return env


def start_haproxy(bind: str, replicas: list[str], log_path: Path, cfg: Path = HAPROXY_CFG) -> subprocess.Popen:
    """HAProxy in the foreground (-db) with ``cfg``, after checking the file (-c)."""
    binary = haproxy_binary()
    if binary is None:
        raise FileNotFoundError("haproxy is not installed (Debian: apt-get install haproxy)")
    env = haproxy_env(bind, replicas)
    check = subprocess.run([binary, "-c", "-q", "-f", str(cfg)], env=env, capture_output=True, text=True, timeout=30)
    if check.returncode != 0:
        raise RuntimeError(f"haproxy refused {cfg}: {check.stderr or check.stdout}")
    log = open(log_path, "ab")  # noqa: SIM115 - the child owns it
    proc = subprocess.Popen([binary, "-db", "-f", str(cfg)], env=env, stdout=log, stderr=log)
    host, _, port = bind.rpartition(":")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"haproxy exited with {proc.returncode}: {log_path.read_text(errors='replace')[-2000:]}")
        with socket.socket() as s:
            if s.connect_ex((host, int(port))) == 0:
                return proc
        time.sleep(0.1)
    raise TimeoutError(f"haproxy never listened on {bind}")


def stop(proc: subprocess.Popen | None, timeout: float = 15.0) -> None:
    """SIGTERM, then SIGKILL after ``timeout`` seconds."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
