"""The ERC-8004 functions and events we read, written from the spec's interfaces (2026-01 revision).

Signatures are plain text; selectors, topics and codecs are derived lazily (eth_abi / eth_hash are
imported inside functions so importing this module stays cheap). tests/test_erc8004_abi.py checks
every selector and topic here against the compiled devnet registries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

# name -> (signature, output types)
FUNCTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "getVersion": ("getVersion()", ("string",)),
    "ownerOf": ("ownerOf(uint256)", ("address",)),
    "tokenURI": ("tokenURI(uint256)", ("string",)),
    "getAgentWallet": ("getAgentWallet(uint256)", ("address",)),
    "getMetadata": ("getMetadata(uint256,string)", ("bytes",)),
    "getIdentityRegistry": ("getIdentityRegistry()", ("address",)),
    "readAllFeedback": ("readAllFeedback(uint256,address[],string,string,bool)",
                        ("address[]", "uint64[]", "int128[]", "uint8[]", "string[]", "string[]", "bool[]")),
    "getClients": ("getClients(uint256)", ("address[]",)),
    "reputationSummary": ("getSummary(uint256,address[],string,string)", ("uint64", "int128", "uint8")),
    "getAgentValidations": ("getAgentValidations(uint256)", ("bytes32[]",)),
    "getValidationStatus": ("getValidationStatus(bytes32)",
                            ("address", "uint256", "uint8", "bytes32", "string", "uint256")),
    "validationSummary": ("getSummary(uint256,address[],string)", ("uint64", "uint8")),
}

EVENTS: dict[str, str] = {
    "Transfer": "Transfer(address indexed from, address indexed to, uint256 indexed tokenId)",
    "Registered": "Registered(uint256 indexed agentId, string agentURI, address indexed owner)",
    "MetadataSet": "MetadataSet(uint256 indexed agentId, string indexed indexedMetadataKey, string metadataKey, "
                   "bytes metadataValue)",
    "URIUpdated": "URIUpdated(uint256 indexed agentId, string newURI, address indexed updatedBy)",
    "NewFeedback": "NewFeedback(uint256 indexed agentId, address indexed clientAddress, uint64 feedbackIndex, "
                   "int128 value, uint8 valueDecimals, string indexed indexedTag1, string tag1, string tag2, "
                   "string endpoint, string feedbackURI, bytes32 feedbackHash)",
    "FeedbackRevoked": "FeedbackRevoked(uint256 indexed agentId, address indexed clientAddress, "
                       "uint64 indexed feedbackIndex)",
    "ResponseAppended": "ResponseAppended(uint256 indexed agentId, address indexed clientAddress, uint64 feedbackIndex, "
                        "address indexed responder, string responseURI, bytes32 responseHash)",
    "ValidationRequest": "ValidationRequest(address indexed validatorAddress, uint256 indexed agentId, "
                         "string requestURI, bytes32 indexed requestHash)",
    "ValidationResponse": "ValidationResponse(address indexed validatorAddress, uint256 indexed agentId, "
                          "bytes32 indexed requestHash, uint8 response, string responseURI, bytes32 responseHash, "
                          "string tag)",
}

_DYNAMIC = re.compile(r"^(string|bytes)$|\[\]$")


def keccak(data: bytes) -> bytes:
    from eth_hash.auto import keccak as _k

    return _k(data)


@dataclass(frozen=True)
class Function:
    name: str
    signature: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    selector: bytes

    def encode(self, *args: Any) -> str:
        from eth_abi import encode

        return "0x" + (self.selector + encode(list(self.inputs), list(args))).hex()

    def decode(self, data: str) -> tuple[Any, ...]:
        from eth_abi import decode

        raw = bytes.fromhex(data[2:] if data.startswith("0x") else data)
        return tuple(decode(list(self.outputs), raw))


@dataclass(frozen=True)
class Param:
    type: str
    name: str
    indexed: bool


@dataclass(frozen=True)
class Event:
    name: str
    params: tuple[Param, ...]
    topic0: str

    def decode(self, log: dict[str, Any]) -> dict[str, Any]:
        """Decode a raw JSON-RPC log. Indexed dynamic types (string) arrive as their keccak hash."""
        from eth_abi import decode

        topics = [t if isinstance(t, str) else "0x" + bytes(t).hex() for t in log["topics"]]
        data = log["data"] if isinstance(log["data"], str) else "0x" + bytes(log["data"]).hex()
        out: dict[str, Any] = {}
        indexed = [p for p in self.params if p.indexed]
        for p, topic in zip(indexed, topics[1:]):
            raw = bytes.fromhex(topic[2:])
            out[p.name] = raw if _DYNAMIC.search(p.type) else decode([p.type], raw)[0]
        plain = [p for p in self.params if not p.indexed]
        values = decode([p.type for p in plain], bytes.fromhex(data[2:])) if plain else ()
        out.update({p.name: v for p, v in zip(plain, values)})
        return out


def _parse_inputs(signature: str) -> tuple[str, ...]:
    inner = signature[signature.index("(") + 1:-1]
    return tuple(t for t in inner.split(",") if t)


@cache
def function(name: str) -> Function:
    sig, outputs = FUNCTIONS[name]
    return Function(name=name, signature=sig, inputs=_parse_inputs(sig), outputs=outputs,
                    selector=keccak(sig.encode())[:4])


@cache
def event(name: str) -> Event:
    text = EVENTS[name]
    ev_name, inner = text[:text.index("(")], text[text.index("(") + 1:-1]
    params = []
    for part in inner.split(","):
        bits = part.split()
        params.append(Param(type=bits[0], name=bits[-1], indexed="indexed" in bits[1:-1]))
    canonical = f"{ev_name}({','.join(p.type for p in params)})"
    return Event(name=ev_name, params=tuple(params), topic0="0x" + keccak(canonical.encode()).hex())


def topic_uint(value: int) -> str:
    return "0x" + value.to_bytes(32, "big").hex()


def topic_address(address: str) -> str:
    return "0x" + "0" * 24 + address.lower().removeprefix("0x")


def topic_string(value: str) -> str:
    return "0x" + keccak(value.encode()).hex()
