"""Output models of the ERC-8004 lookup (pydantic; values that are amounts are decimal strings)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class MetadataItem(BaseModel):
    key: str
    value_hex: str
    value_text: str | None = Field(None, description="The value as UTF-8 text when it is printable.")


class Identity(BaseModel):
    agent_registry: str = Field(description="eip155:<chainId>:<identityRegistry>")
    identity_registry: str
    agent_id: int
    owner: str
    agent_wallet: str | None = Field(None, description="On-chain verified agent wallet; null when unset.")
    agent_wallet_set: bool
    agent_uri: str
    metadata: list[MetadataItem] = []
    registered_block: int | None = None


class Service(BaseModel):
    kind: Literal["MCP", "A2A", "ENS", "DID", "wallet", "web", "OASF", "email", "other"]
    name: str
    endpoint: str
    version: str | None = None


class RegistrationRef(BaseModel):
    agent_id: int | str | None
    agent_registry: str | None
    matches_this_agent: bool


class RegistrationFile(BaseModel):
    uri_scheme: str
    fetched: bool
    size_bytes: int | None = None
    valid: bool = Field(False, description="Fetched, JSON, and follows the registration-v1 shape.")
    type: str | None = None
    name: str | None = None
    description: str | None = None
    image: str | None = None
    active: bool | None = None
    x402_support: bool | None = None
    services: list[Service] = []
    uses_legacy_endpoints_key: bool = False
    registrations: list[RegistrationRef] = []
    points_back: bool | None = Field(None, description="A registrations entry names this registry and agent id; "
                                                       "null when the file has no registrations.")
    supported_trust: list[str] = []
    problems: list[str] = []


class TagStats(BaseModel):
    tag1: str
    tag2: str
    count: int
    clients: int
    average: str = Field(description="Mean of value/10^decimals over the non-revoked feedback with these tags.")
    min: str
    max: str
    revoked: int = 0


class FeedbackResponse(BaseModel):
    responder: str
    response_uri: str
    block: int | None = None


class FeedbackItem(BaseModel):
    client: str
    feedback_index: int
    value: str = Field(description="value / 10^valueDecimals as a decimal string")
    raw_value: str
    value_decimals: int
    tag1: str
    tag2: str
    revoked: bool
    endpoint: str | None = None
    feedback_uri: str | None = None
    feedback_hash: str | None = None
    block: int | None = None
    responses: list[FeedbackResponse] = []


class Reputation(BaseModel):
    registry: str
    trusted_clients: list[str] | None = Field(None, description="Only these clients were counted, when given.")
    feedback_count: int = Field(description="Non-revoked feedback entries counted.")
    revoked_count: int
    client_count: int
    tags: list[TagStats] = Field(description="Per (tag1, tag2): never averaged across tags.")
    recent: list[FeedbackItem]
    recent_offset: int = 0
    recent_total: int = 0


class ValidationResponseItem(BaseModel):
    response: int
    response_uri: str
    response_hash: str
    tag: str
    block: int


class ValidationItem(BaseModel):
    request_hash: str
    validator: str
    request_uri: str | None = None
    status: Literal["answered", "pending", "unknown"]
    response: int | None = Field(None, description="Latest response 0..100; null while pending.")
    tag: str | None = None
    last_update: int | None = Field(None, description="Unix time of the request or latest response.")
    responses: list[ValidationResponseItem] = []


class ValidatorStats(BaseModel):
    validator: str
    requests: int
    answered: int


class Validations(BaseModel):
    registry: str
    requests: list[ValidationItem]
    answered: int
    pending: int
    unknown: int = 0
    validators: list[ValidatorStats]


class LivenessProbe(BaseModel):
    service: str
    endpoint: str
    answered: bool
    status: int | None = None
    latency_ms: int | None = None
    detail: str | None = None


class OwnedAgent(BaseModel):
    agent_id: int
    relation: Literal["owner", "agent_wallet", "owner+agent_wallet"]


class AgentLookup(BaseModel):
    summary: str
    query: str
    chain_id: int
    chain_name: str
    identity: Identity | None = None
    registration: RegistrationFile | None = None
    reputation: Reputation | None = None
    validations: Validations | None = None
    liveness: list[LivenessProbe] | None = None
    address: str | None = Field(None, description="Set when the query was an owner / agent-wallet address.")
    owned_agents: list[OwnedAgent] | None = None
    owned_total: int | None = None
    warnings: list[str] = []
    logs_scanned_from_block: int | None = None
    logs_complete: bool | None = None
    rpc_calls: int = 0
