"""A local chain with our own ERC-8004 registries: anvil on 127.0.0.1 plus a deploy step.

    from tools.devnet.devnet import start_anvil, deploy
    node = start_anvil()                 # free port, 127.0.0.1 only, waits until it answers
    addrs = deploy(node.rpc_url)         # {"identity": "0x..", "reputation": "0x..", "validation": "0x.."}
    node.stop()                          # also stopped at interpreter exit / if this process dies

``python -m tools.devnet`` does both and prints the PM_MCP_* environment that points pm-mcp at it.

The anvil binary comes from the npm package @foundry-rs/anvil (tools/devnet/package.json;
``npm install`` in tools/devnet, or ``bash tools/test.sh``). Override with PM_MCP_ANVIL=/path/to/anvil.
The registries are compiled into tools/devnet/artifacts/ (rebuild: ``node tools/devnet/build.mjs``).
"""

from __future__ import annotations

import atexit
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE / "artifacts"
NODE_MODULES = HERE / "node_modules"
CHAIN_ID = 31337
# anvil's well-known default dev accounts (mnemonic "test test ... junk"): public test keys, not secrets.
DEV_KEYS = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
]


def find_anvil() -> str:
    """The anvil binary: $PM_MCP_ANVIL, the npm package's platform binary, or `anvil` on PATH."""
    env = os.environ.get("PM_MCP_ANVIL")
    if env:
        return env
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    system = {"linux": "linux", "darwin": "darwin", "windows": "win32"}.get(platform.system().lower(), "")
    exe = "anvil.exe" if system == "win32" else "anvil"
    direct = NODE_MODULES / "@foundry-rs" / f"anvil-{system}-{arch}" / "bin" / exe
    if direct.is_file():
        return str(direct)  # the real binary: no node wrapper process in between
    found = shutil.which("anvil") or shutil.which("anvil", path=str(NODE_MODULES / ".bin"))
    if found:
        return found
    raise FileNotFoundError(
        "anvil not found: run `npm install` in tools/devnet (or `bash tools/test.sh`), "
        "or set PM_MCP_ANVIL to an anvil binary")


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


@dataclass
class Anvil:
    proc: subprocess.Popen
    rpc_url: str
    port: int
    output: list[str] = field(default_factory=list)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    def __enter__(self) -> Anvil:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def rpc(url: str, method: str, params: list | None = None, timeout: float = 5.0) -> Any:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - loopback only
        reply = json.loads(resp.read())
    if "error" in reply:
        raise RuntimeError(f"{method}: {reply['error']}")
    return reply["result"]


def start_anvil(*, chain_id: int = CHAIN_ID, timeout: float = 30.0, extra_args: tuple[str, ...] = ()) -> Anvil:
    """Start anvil on 127.0.0.1 on a free port (anvil binds port 0 and reports the port it got).

    Returns once the node answers eth_chainId. The node is stopped at interpreter exit and, on
    Linux, when this process dies."""
    cmd = [find_anvil(), "--host", "127.0.0.1", "--port", "0", "--chain-id", str(chain_id), *extra_args]
    proc = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)
    lines: list[str] = []
    port_box: list[int] = []
    ready = threading.Event()

    def drain() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if len(lines) < 200:
                lines.append(line.rstrip())
            if not port_box and line.startswith("Listening on "):
                port_box.append(int(line.rsplit(":", 1)[1]))
                ready.set()
        ready.set()

    threading.Thread(target=drain, name="anvil-output", daemon=True).start()
    node: Anvil | None = None
    try:
        if not ready.wait(timeout) or not port_box:
            raise RuntimeError("anvil did not start:\n" + "\n".join(lines[-20:]))
        node = Anvil(proc=proc, rpc_url=f"http://127.0.0.1:{port_box[0]}", port=port_box[0], output=lines)
        deadline = time.monotonic() + timeout
        while True:
            try:
                if int(rpc(node.rpc_url, "eth_chainId", timeout=1.0), 16) == chain_id:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("anvil does not answer:\n" + "\n".join(lines[-20:]))
            time.sleep(0.05)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    atexit.register(node.stop)
    return node


def load_artifact(name: str) -> dict[str, Any]:
    return json.loads((ARTIFACTS / f"{name}.json").read_text(encoding="utf-8"))


def _web3(rpc_url: str):
    from web3 import Web3

    return Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 10}))


def deploy(rpc_url: str, *, deployer: int = 0) -> dict[str, Any]:
    """Deploy IdentityRegistry, ReputationRegistry and ValidationRegistry; return their addresses.

    Uses anvil's unlocked dev account ``deployer``. Returns
    {"identity", "reputation", "validation", "chain_id", "block"} (block = the first deploy block)."""
    w3 = _web3(rpc_url)
    sender = w3.eth.accounts[deployer]
    out: dict[str, Any] = {"chain_id": w3.eth.chain_id}

    def create(name: str, *args: Any) -> str:
        art = load_artifact(name)
        factory = w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
        tx = factory.constructor(*args).transact({"from": sender})
        receipt = w3.eth.wait_for_transaction_receipt(tx, timeout=30)
        if receipt["status"] != 1:
            raise RuntimeError(f"deploying {name} failed")
        out.setdefault("block", receipt["blockNumber"])
        return receipt["contractAddress"]

    out["identity"] = create("IdentityRegistry")
    out["reputation"] = create("ReputationRegistry", out["identity"])
    out["validation"] = create("ValidationRegistry", out["identity"])
    return out


def pm_mcp_env(rpc_url: str, addresses: dict[str, Any]) -> dict[str, str]:
    """The PM_MCP_* settings that point pm-mcp at this devnet."""
    return {
        "PM_MCP_RPC_URLS": f"{addresses.get('chain_id', CHAIN_ID)}={rpc_url}",
        "PM_MCP_ERC8004_IDENTITY": addresses["identity"],
        "PM_MCP_ERC8004_REPUTATION": addresses["reputation"],
        "PM_MCP_ERC8004_VALIDATION": addresses["validation"],
    }


class Registries:
    """Write helpers for tests and demos: send transactions to the deployed registries as dev accounts."""

    def __init__(self, rpc_url: str, addresses: dict[str, Any]):
        self.w3 = _web3(rpc_url)
        self.addresses = addresses
        self.accounts = self.w3.eth.accounts
        self.identity = self.w3.eth.contract(address=addresses["identity"], abi=load_artifact("IdentityRegistry")["abi"])
        self.reputation = self.w3.eth.contract(address=addresses["reputation"],
                                               abi=load_artifact("ReputationRegistry")["abi"])
        self.validation = self.w3.eth.contract(address=addresses["validation"],
                                               abi=load_artifact("ValidationRegistry")["abi"])

    def send(self, call: Any, sender: int | str) -> Any:
        frm = self.accounts[sender] if isinstance(sender, int) else sender
        tx = call.transact({"from": frm})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx, timeout=30)
        if receipt["status"] != 1:
            raise RuntimeError("transaction reverted")
        return receipt

    def register(self, uri: str, owner: int = 1, metadata: list[tuple[str, bytes]] | None = None) -> int:
        fn = self.identity.functions
        if metadata:
            call = fn.register(uri, [(k, v) for k, v in metadata])
        else:
            call = fn.register(uri)
        receipt = self.send(call, owner)
        logs = self.identity.events.Registered().process_receipt(receipt, errors=_discard())
        return int(logs[0]["args"]["agentId"])

    def set_agent_wallet(self, agent_id: int, owner: int, wallet_key: str) -> str:
        """Prove a new agent wallet with an EIP-712 signature by that wallet's key."""
        from eth_account import Account

        wallet = Account.from_key(wallet_key)
        deadline = self.w3.eth.get_block("latest")["timestamp"] + 120
        typed = {
            "types": {
                "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                                 {"name": "chainId", "type": "uint256"},
                                 {"name": "verifyingContract", "type": "address"}],
                "AgentWalletSet": [{"name": "agentId", "type": "uint256"}, {"name": "newWallet", "type": "address"},
                                   {"name": "owner", "type": "address"}, {"name": "deadline", "type": "uint256"}],
            },
            "primaryType": "AgentWalletSet",
            "domain": {"name": "ERC8004IdentityRegistry", "version": "1", "chainId": self.w3.eth.chain_id,
                       "verifyingContract": self.identity.address},
            "message": {"agentId": agent_id, "newWallet": wallet.address, "owner": self.accounts[owner],
                        "deadline": deadline},
        }
        sig = Account.sign_typed_data(wallet_key, full_message=typed).signature
        self.send(self.identity.functions.setAgentWallet(agent_id, wallet.address, deadline, bytes(sig)), owner)
        return wallet.address

    def feedback(self, agent_id: int, client: int, value: int, decimals: int, tag1: str, tag2: str = "",
                 endpoint: str = "", uri: str = "", file_hash: bytes = b"\0" * 32) -> int:
        receipt = self.send(self.reputation.functions.giveFeedback(
            agent_id, value, decimals, tag1, tag2, endpoint, uri, file_hash), client)
        logs = self.reputation.events.NewFeedback().process_receipt(receipt, errors=_discard())
        return int(logs[0]["args"]["feedbackIndex"])

    def revoke(self, agent_id: int, client: int, index: int) -> None:
        self.send(self.reputation.functions.revokeFeedback(agent_id, index), client)

    def respond(self, agent_id: int, client: int, index: int, responder: int, uri: str,
                response_hash: bytes = b"\0" * 32) -> None:
        self.send(self.reputation.functions.appendResponse(
            agent_id, self.accounts[client], index, uri, response_hash), responder)

    def request_validation(self, agent_id: int, owner: int, validator: int, uri: str, request_hash: bytes) -> None:
        self.send(self.validation.functions.validationRequest(
            self.accounts[validator], agent_id, uri, request_hash), owner)

    def respond_validation(self, request_hash: bytes, validator: int, response: int, uri: str = "",
                           tag: str = "", response_hash: bytes = b"\0" * 32) -> None:
        self.send(self.validation.functions.validationResponse(
            request_hash, response, uri, response_hash, tag), validator)

    def transfer(self, agent_id: int, owner: int, to: int) -> None:
        self.send(self.identity.functions.transferFrom(self.accounts[owner], self.accounts[to], agent_id), owner)


def _discard():
    from web3.logs import DISCARD

    return DISCARD
