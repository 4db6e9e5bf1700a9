"""Opening a page in the person's browser (the approval page with PM_MCP_OPEN_BROWSER=1, the passkey
enrolment page), without ever writing to our stdout (on stdio it is the MCP protocol)."""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger(__name__)


async def open_browser(url: str) -> bool:
    """Open ``url`` in the person's browser; True when the browser took it.

    The opener runs in a child process with its standard streams detached: on stdio, our stdout is the MCP
    protocol, and a browser launcher printing to it would corrupt it."""
    import subprocess
    import sys

    code = "import sys, webbrowser; sys.exit(0 if webbrowser.open(sys.argv[1], new=2) else 3)"
    try:
        proc = await asyncio.create_subprocess_exec(sys.executable, "-c", code, url, stdin=subprocess.DEVNULL,
                                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                                    start_new_session=True)
    except OSError as exc:
        log.warning("could not start the browser opener (%s)", type(exc).__name__)
        return False
    try:
        return await asyncio.wait_for(proc.wait(), 15) == 0
    except TimeoutError:
        return True  # a launcher that stays in the foreground (a browser started just now) has the address
