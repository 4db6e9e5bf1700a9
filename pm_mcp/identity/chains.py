"""Chains and the official ERC-8004 deployments (pure data; no web3 here).

The identity and reputation registries are CREATE2 "vanity" proxies with one address on every
mainnet and another on every testnet (erc-8004/erc-8004-contracts README and scripts/addresses.ts,
2026-01). The validation registry addresses come only from scripts/addresses.ts and are not
confirmed per chain: callers must check that code is present and getVersion() is as expected.
RPC URLs are never built in: they come from PM_MCP_RPC_URLS ("chainId=url,...").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAINNET_IDENTITY = "0x8004A169FB4a3325136EB29fA0ceB6D2e539a432"
MAINNET_REPUTATION = "0x8004BAa17C55a88189AE136b182e5fdA19dE9b63"
MAINNET_VALIDATION = "0x8004Cc8439f36fd5F9F049D9fF86523Df6dAAB58"
TESTNET_IDENTITY = "0x8004A818BFB912233c491871b3d84c89A494BD9e"
TESTNET_REPUTATION = "0x8004B663056A597Dffe9eCcC1965A193B7388713"
TESTNET_VALIDATION = "0x8004Cb1BF31DAf7788923b405b754f57acEB4272"

EXPECTED_VERSION = "2.0.0"  # getVersion() of the v2 (Jan 2026) implementations; the placeholder says 0.0.1 / 1.0.0


@dataclass(frozen=True)
class Chain:
    chain_id: int
    name: str
    testnet: bool
    aliases: tuple[str, ...] = ()

    @property
    def identity(self) -> str:
        return TESTNET_IDENTITY if self.testnet else MAINNET_IDENTITY

    @property
    def reputation(self) -> str:
        return TESTNET_REPUTATION if self.testnet else MAINNET_REPUTATION

    @property
    def validation(self) -> str:
        return TESTNET_VALIDATION if self.testnet else MAINNET_VALIDATION


# Chains of the official deployment list with a well-known EIP-155 id.
CHAINS: tuple[Chain, ...] = (
    Chain(1, "Ethereum", False, ("ethereum", "eth", "mainnet", "ethereum mainnet")),
    Chain(8453, "Base", False, ("base",)),
    Chain(42161, "Arbitrum One", False, ("arbitrum", "arbitrum one", "arb")),
    Chain(10, "OP Mainnet", False, ("optimism", "op", "op mainnet")),
    Chain(137, "Polygon", False, ("polygon", "matic", "polygon pos")),
    Chain(43114, "Avalanche C-Chain", False, ("avalanche", "avax")),
    Chain(56, "BNB Smart Chain", False, ("bsc", "bnb", "bnb smart chain", "binance")),
    Chain(42220, "Celo", False, ("celo",)),
    Chain(100, "Gnosis", False, ("gnosis", "xdai")),
    Chain(59144, "Linea", False, ("linea",)),
    Chain(534352, "Scroll", False, ("scroll",)),
    Chain(167000, "Taiko", False, ("taiko",)),
    Chain(143, "Monad", False, ("monad",)),
    Chain(4326, "MegaETH", False, ("megaeth",)),
    Chain(5000, "Mantle", False, ("mantle",)),
    Chain(1088, "Metis", False, ("metis",)),
    Chain(2741, "Abstract", False, ("abstract",)),
    Chain(1868, "Soneium", False, ("soneium",)),
    Chain(2345, "GOAT", False, ("goat",)),
    Chain(196, "X Layer", False, ("xlayer", "x layer")),
    Chain(11155111, "Ethereum Sepolia", True, ("sepolia", "ethereum sepolia", "eth sepolia")),
    Chain(84532, "Base Sepolia", True, ("base sepolia", "base-sepolia")),
    Chain(421614, "Arbitrum Sepolia", True, ("arbitrum sepolia", "arbitrum-sepolia")),
    Chain(11155420, "OP Sepolia", True, ("optimism sepolia", "op sepolia")),
    Chain(80002, "Polygon Amoy", True, ("amoy", "polygon amoy")),
    Chain(43113, "Avalanche Fuji", True, ("fuji", "avalanche fuji")),
    Chain(97, "BNB Smart Chain Testnet", True, ("bsc testnet", "bnb testnet")),
)

LOCAL_CHAINS = {31337: "Anvil devnet", 1337: "local devnet"}

_BY_ID = {c.chain_id: c for c in CHAINS}
_BY_ALIAS = {alias: c for c in CHAINS for alias in (*c.aliases, c.name.lower())}


def chain_by_id(chain_id: int) -> Chain | None:
    return _BY_ID.get(chain_id)


def chain_name(chain_id: int) -> str:
    c = _BY_ID.get(chain_id)
    if c:
        return c.name
    return LOCAL_CHAINS.get(chain_id, f"chain {chain_id}")


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]+", " ", name.strip().lower())


def chain_by_name(name: str) -> Chain | None:
    n = _norm(name)
    return _BY_ALIAS.get(n) or _BY_ALIAS.get(n.replace(" ", "-")) or _BY_ALIAS.get(n.replace(" ", ""))


def known_chain_names() -> str:
    return ", ".join(sorted({c.aliases[0] if c.aliases else c.name.lower() for c in CHAINS}))
