"""Parse the ways people name an ERC-8004 agent (pure; no I/O).

Accepted forms (case-insensitive, surrounding spaces ignored):
    8453:1234                                   chainId:agentId (agent0-sdk style)
    eip155:8453:0x8004A169...a432:1234          CAIP-style registry + agentId
    eip155:8453:0xabc...                        CAIP-10 account: the agents it owns / is the wallet of
    base 1234 | base:1234 | base #1234 | 1234 on base | base sepolia 12
    8453:0xabc... | base 0xabc...               an owner / agent-wallet address on a chain
    1234 | 0xabc...                             with the chain given separately (or only one chain configured)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pm_mcp.identity.chains import chain_by_name, known_chain_names

FORMS_HELP = ("Use chainId:agentId (e.g. 8453:1234), eip155:<chainId>:<identityRegistry>:<agentId>, "
              "a chain name and id ('base 1234'), or an owner/agent-wallet address with a chain "
              "('base 0xabc...' or chain='base').")

_ADDR = r"0x[0-9a-fA-F]{40}"
_LOCAL_NAMES = {"anvil": 31337, "devnet": 31337, "local": 31337, "localhost": 31337, "hardhat": 31337}
MAX_AGENT_ID = 2**256 - 1


@dataclass(frozen=True)
class AgentRef:
    chain_id: int | None
    agent_id: int | None = None
    address: str | None = None  # owner or agent wallet (lower case); set instead of agent_id
    registry: str | None = None  # identity registry named in a CAIP-style id

    @property
    def is_address(self) -> bool:
        return self.address is not None


def parse_chain(value: str | int | None) -> int | None:
    """A chain id from an int, a numeric string, 'eip155:8453' or a chain name; None if empty."""
    if value is None:
        return None
    if isinstance(value, int):
        if value <= 0:
            raise ValueError(f"chain id must be positive, got {value}")
        return value
    text = value.strip().lower()
    if not text:
        return None
    if text.startswith("eip155:"):
        text = text[len("eip155:"):]
    if text.isdigit():
        cid = int(text)
        if cid <= 0:
            raise ValueError(f"chain id must be positive, got {cid}")
        return cid
    if text in _LOCAL_NAMES:
        return _LOCAL_NAMES[text]
    chain = chain_by_name(text)
    if chain is None:
        raise ValueError(f"unknown chain {value!r}. Known names: {known_chain_names()}; "
                         f"or give the numeric chain id (e.g. 8453).")
    return chain.chain_id


def _agent_id(text: str) -> int:
    text = text.strip().lstrip("#")
    if not text.isdigit():
        raise ValueError(f"agent id {text!r} is not a non-negative integer. {FORMS_HELP}")
    value = int(text)
    if value > MAX_AGENT_ID:
        raise ValueError("agent id is larger than uint256")
    return value


def parse_agent_ref(text: str, chain: str | int | None = None) -> AgentRef:
    """Parse ``text`` (and an optional separate ``chain``) into an AgentRef. Raises ValueError with advice."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"agent is empty. {FORMS_HELP}")
    raw = text.strip()
    given_chain = parse_chain(chain)

    def with_chain(cid: int | None, **kw) -> AgentRef:
        if cid is not None and given_chain is not None and cid != given_chain:
            raise ValueError(f"the agent names chain {cid} but chain={chain!r} was also given; drop one")
        return AgentRef(chain_id=cid if cid is not None else given_chain, **kw)

    # eip155:<chainId>:<registry>:<agentId>  |  eip155:<chainId>:<address>
    m = re.fullmatch(rf"eip155:(\d+):({_ADDR})(?::(#?\d+))?", raw, re.IGNORECASE)
    if m:
        cid = int(m.group(1))
        if m.group(3) is not None:
            return with_chain(cid, agent_id=_agent_id(m.group(3)), registry=m.group(2).lower())
        return with_chain(cid, address=m.group(2).lower())
    if raw.lower().startswith("eip155:"):
        raise ValueError(f"malformed CAIP id {raw!r}: expected eip155:<chainId>:<identityRegistry>:<agentId>, "
                         f"e.g. eip155:8453:0x8004A169FB4a3325136EB29fA0ceB6D2e539a432:1234")

    # a bare address or id
    if re.fullmatch(_ADDR, raw):
        return with_chain(None, address=raw.lower())
    if re.fullmatch(r"#?\d+", raw):
        return with_chain(None, agent_id=_agent_id(raw))

    # <chain>:<id|address> (chain numeric or a name)
    m = re.fullmatch(rf"([A-Za-z0-9 _\-]+?)\s*[:/]\s*(#?\d+|{_ADDR})", raw)
    if not m:
        # "<chain name> <id|address>"  |  "<id> on <chain name>"
        m = re.fullmatch(rf"(.+?)\s+(#?\d+|{_ADDR})", raw)
        if not m:
            m2 = re.fullmatch(r"(?:agent\s+)?(#?\d+)\s+(?:on|@)\s+(.+)", raw, re.IGNORECASE)
            if m2:
                return with_chain(parse_chain(m2.group(2)), agent_id=_agent_id(m2.group(1)))
    if m:
        chain_part, tail = m.group(1).strip(), m.group(2)
        if chain_part.lower().startswith("agent "):
            chain_part = chain_part[6:]
        cid = parse_chain(chain_part)
        if re.fullmatch(_ADDR, tail):
            return with_chain(cid, address=tail.lower())
        return with_chain(cid, agent_id=_agent_id(tail))
    raise ValueError(f"cannot read {raw!r} as an agent. {FORMS_HELP}")
