#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what it needs, starts nothing by hand
# (each test starts its own pm-mcp process, simulators and anvil node on 127.0.0.1), runs pytest.
#   bash tools/test.sh            # everything
#   bash tools/test.sh -k edge    # extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

# 1. Python: a venv with the package and its test extra
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
.venv/bin/python -m pip install -q -e ".[test]"

# 1b. The unified Polymarket SDK (polymarket-client pins eth-account 0.13 / eth-abi 5, which would
#     downgrade our web3 stack) in its own venv; tests/test_polymarket_signing_vs_sdk.py calls it.
if [ ! -x .venv-polymarket-sdk/bin/python ]; then
  "$PY" -m venv .venv-polymarket-sdk
fi
.venv-polymarket-sdk/bin/python -m pip install -q "polymarket-client==0.14.0" >/dev/null 2>&1 \
  || echo "warning: could not install polymarket-client; its signing comparison will fail" >&2

# 2. A browser for the approval-page tests: Debian's chromium (Playwright's own download cannot work here)
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "warning: could not install chromium; the approval-page browser tests will fail (CI) or skip" >&2
  else
    echo "warning: chromium missing and not root; run: sudo apt-get install chromium" >&2
  fi
fi

# 2b. PostgreSQL for the store's second backend (tests/pg_server.py starts a throwaway server; skipped without it)
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
      || echo "warning: could not install postgresql; the PostgreSQL store tests will skip" >&2
  else
    echo "warning: postgresql missing and not root; run: sudo apt-get install postgresql" >&2
  fi
fi

# 2c. HAProxy, the load balancer in front of three `serve --http` replicas (tests/test_e2e_balancer.py; skipped without it)
if ! command -v haproxy >/dev/null 2>&1 && [ ! -x /usr/sbin/haproxy ]; then
  if [ "$(id -u)" = "0" ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null) \
      || echo "warning: could not install haproxy; the load-balancer tests will skip" >&2
  else
    echo "warning: haproxy missing and not root; run: sudo apt-get install haproxy" >&2
  fi
fi

# 3. The anvil node (npm @foundry-rs/anvil) for the ERC-8004 tests
if [ -f tools/devnet/package.json ]; then
  (cd tools/devnet && { [ -d node_modules/@foundry-rs ] || npm install --no-audit --no-fund --silent; })
fi

# 3b. Offline packaging tests: a wheelhouse (build, twine, setuptools, wheel and our dependencies) for the
#     build-and-install test, and the official MCP Bundle CLI (@anthropic-ai/mcpb, pinned) for the bundle test
mkdir -p .wheelhouse
.venv/bin/python -m pip download -q -d .wheelhouse build twine "setuptools>=77" wheel . >/dev/null 2>&1 \
  || echo "warning: could not fill .wheelhouse; the packaging test will skip" >&2
if [ -f tools/bundle/package.json ]; then
  (cd tools/bundle && { [ -x node_modules/.bin/mcpb ] || npm ci --no-audit --no-fund --silent; }) \
    || echo "warning: could not install the mcpb CLI; the bundle test will skip" >&2
fi
# 3c. The official MCP Inspector CLI (@modelcontextprotocol/inspector, pinned; it asks for Node 22 and runs on 20
#     with EBADENGINE warnings) for tests/test_inspector_cli.py: tools/list --strict and every read tool
if [ -f tools/inspector/package.json ]; then
  (cd tools/inspector && { [ -x node_modules/.bin/inspector ] || npm ci --no-audit --no-fund --silent; }) \
    || echo "warning: could not install the MCP Inspector CLI; the Inspector test will skip" >&2
fi

# 4. Lint (pyflakes, pycodestyle, import order; pyproject [tool.ruff]): a failure stops here
.venv/bin/python -m ruff check pm_mcp tests tools

# 5. Run. Where we can (root with unshare and ip), pytest runs in a network namespace that has only
#    loopback: a test that tried to reach the internet fails here instead of quietly passing on a
#    connected machine. PM_MCP_TEST_NETNS=0 runs it in the normal network.
export PATH="$ROOT/.venv/bin:$ROOT/tools/devnet/node_modules/.bin:$PATH"
if [ "${PM_MCP_TEST_NETNS:-1}" = "1" ] && [ "$(id -u)" = "0" ] && command -v unshare >/dev/null 2>&1 \
   && command -v ip >/dev/null 2>&1 && unshare -n true 2>/dev/null; then
  echo "tools/test.sh: running pytest in a loopback-only network namespace" >&2
  exec unshare -n bash -c 'ip link set lo up && exec .venv/bin/python -m pytest "$@"' pytest "$@"
fi
exec .venv/bin/python -m pytest "$@"
