"""Several processes opening one new SQLite file at the same instant (two replicas or `pm-mcp watch` beside the
stdio server on a fresh PM_MCP_HOME): each migration is applied once, by whichever process takes the write lock
first; the others see it applied and go on. Before the fix the second process to reach a migration ran it again
and failed ('table ... already exists' / 'duplicate column name')."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = textwrap.dedent("""
    import asyncio, sys, time
    from pathlib import Path
    from pm_mcp.store import Store
    import pm_mcp.execution.watches  # noqa: F401 - registers the watches component's migrations too

    go = Path(sys.argv[2])
    while not go.exists():
        time.sleep(0.001)

    async def main():
        store = await Store.open(Path(sys.argv[1]))
        versions = await store.schema_versions()
        await store.close()
        print(sorted(versions.items()))

    asyncio.run(main())
""")


def test_simultaneous_first_starts_on_one_file_each_apply_nothing_twice(tmp_path):
    for attempt in range(2):  # the race is timing-bound: two rounds on fresh files
        db = tmp_path / f"pm{attempt}.sqlite3"
        go = tmp_path / f"go{attempt}"
        procs = [subprocess.Popen([sys.executable, "-c", CHILD, str(db), str(go)], cwd=str(REPO),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
        time.sleep(1.5)  # every child imported and waits on the start file
        go.touch()
        outs = [p.communicate(timeout=60) for p in procs]
        for p, (out, err) in zip(procs, outs, strict=True):
            assert p.returncode == 0, err[-2000:]
        assert len({out for out, _ in outs}) == 1, outs  # every process ends at the same versions
