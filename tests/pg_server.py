"""A real PostgreSQL server for the tests: Debian's ``postgresql`` package, started in a temporary data
directory (initdb + pg_ctl), listening only on a unix socket in that directory (no TCP port at all).

PostgreSQL refuses to run as root, so as root (CI) the server runs as ``nobody`` through ``runuser``; the data
directory is made theirs. ``PgServer.start()`` returns None with a reason when the binaries are absent (the
tests skip with it); any other failure raises.

    server = PgServer.start()        # or the session fixture ``pg_server`` in the tests that use it
    url = server.new_database()      # postgresql://postgres@/db_1?host=/tmp/pm-pg-.../sock
    server.stop()
"""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path


def pg_bindir() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin that has initdb, or whatever initdb is on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


class PgServer:
    def __init__(self, bindir: Path, root: Path, as_user: str | None) -> None:
        self.bindir, self.root, self.as_user = bindir, root, as_user
        self.data = root / "data"
        self.sock = root / "sock"
        self._n = 0

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_user:
            cmd = ["runuser", "-u", self.as_user, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True)

    @classmethod
    def start(cls) -> PgServer | str:
        """A running server, or the reason there is none (binaries absent)."""
        bindir = pg_bindir()
        if bindir is None:
            return "PostgreSQL binaries not found (Debian: apt-get install postgresql; tools/test.sh installs it)"
        root = Path(tempfile.mkdtemp(prefix="pm-pg-"))
        as_user = None
        if os.geteuid() == 0:
            if shutil.which("runuser") is None:
                return "running as root and runuser is missing: PostgreSQL cannot be started as root"
            as_user = "nobody"
            root.chmod(0o755)
        server = cls(bindir, root, as_user)
        server.sock.mkdir()
        if as_user:
            shutil.chown(root, user=as_user)
            shutil.chown(server.sock, user=as_user)
        try:
            server._run("initdb", "-D", str(server.data), "-U", "postgres", "--auth=trust", "--locale=C",
                        "-E", "UTF8", "--no-sync")
            opts = f"-c listen_addresses='' -c unix_socket_directories='{server.sock}' -c fsync=off " \
                   "-c max_connections=100 -c shared_buffers=16MB"
            server._run("pg_ctl", "-D", str(server.data), "-o", opts, "-l", str(root / "log"), "-w", "-t", "60",
                        "start")
        except subprocess.CalledProcessError as exc:
            log = (root / "log").read_text(errors="replace") if (root / "log").exists() else ""
            shutil.rmtree(root, ignore_errors=True)
            raise RuntimeError(f"PostgreSQL did not start: {exc.stderr or exc.stdout}\n{log[-2000:]}") from exc
        return server

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@/{dbname}?host={self.sock}"

    def new_database(self) -> str:
        """A fresh empty database on this server; its URL."""
        self._n += 1
        name = f"pm_test_{os.getpid()}_{self._n}"
        self._run("psql", "-h", str(self.sock), "-U", "postgres", "-d", "postgres", "-q", "-c",
                  f"CREATE DATABASE {name}")
        return self.url(name)

    def psql(self, url_db: str, sql: str) -> str:
        """Run SQL with psql against a database of this server (its name from a URL or plain); stdout."""
        name = url_db.split("?")[0].rsplit("/", 1)[-1]
        return self._run("psql", "-h", str(self.sock), "-U", "postgres", "-d", name, "-At", "-c", sql).stdout

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=60)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            pass
        shutil.rmtree(self.root, ignore_errors=True)


_SHARED: PgServer | str | None = None


def shared_server() -> PgServer | str:
    """One server per test process (started on first use, stopped at exit), or the reason there is none."""
    global _SHARED
    if _SHARED is None:
        _SHARED = PgServer.start()
        if isinstance(_SHARED, PgServer):
            atexit.register(_SHARED.stop)
    return _SHARED
