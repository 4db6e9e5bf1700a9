"""ERC-8004 agent lookup: identity, registration file, reputation per tag, validations, liveness.

``IdentityService`` lives in ``state.identity`` (created at start-up without importing
web3; the first lookup imports it). One lookup of an agent runs its reads concurrently on the event
loop: ownerOf / tokenURI / getAgentWallet / readAllFeedback / getAgentValidations, one block number,
two bounded eth_getLogs scans (identity+reputation events, validation events), one
getValidationStatus per request, and the registration file fetch.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from decimal import Decimal
from typing import Any

import httpx

from pm_mcp.identity import abi
from pm_mcp.identity.chains import EXPECTED_VERSION, chain_by_id, chain_name
from pm_mcp.identity.models import (
    AgentLookup,
    FeedbackItem,
    FeedbackResponse,
    Identity,
    MetadataItem,
    OwnedAgent,
    RegistrationFile,
    Reputation,
    TagStats,
    ValidationItem,
    ValidationResponseItem,
    Validations,
    ValidatorStats,
)
from pm_mcp.identity.refs import AgentRef, parse_agent_ref
from pm_mcp.identity.registration import FetchError, fetch_registration_bytes, parse_registration
from pm_mcp.identity.rpc import ChainError, ChainReader, LogScan, Reverted, count_rpc_calls

log = logging.getLogger(__name__)

MAX_VALIDATIONS = 50  # most recent validation requests read per lookup
MAX_TRUSTED_CLIENTS = 100
_ZERO = "0x" + "0" * 40


class LookupProblem(Exception):
    """A lookup failed for a reason the caller can fix; the message says how."""


class AgentNotFound(LookupProblem):
    pass


def _cs(address: str | None) -> str | None:
    if not address:
        return None
    from eth_utils import to_checksum_address

    return to_checksum_address(address)


def _short(address: str | None) -> str:
    return f"{address[:6]}…{address[-4:]}" if address else "nobody"


def _hex(b: bytes) -> str:
    return "0x" + bytes(b).hex()


def _decimal_str(value: Decimal) -> str:
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def _text_or_none(raw: bytes) -> str | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if text and text.isprintable() else None


class Registries:
    def __init__(self, identity: str, reputation: str | None, validation: str | None, source: str):
        self.identity = identity.lower()
        self.reputation = reputation.lower() if reputation else None
        self.validation = validation.lower() if validation else None
        self.source = source


class IdentityService:
    def __init__(self, settings: Any, http: httpx.AsyncClient | None = None):
        self.settings = settings
        self._http = http
        self._own_http = http is None
        self._readers: dict[int, ChainReader] = {}
        # (chain, address) -> None when fine, else the problem text (cached once decided)
        self._checked: dict[tuple[int, str], str | None] = {}

    # ---------------------------------------------------------------- plumbing
    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=httpx.Timeout(5.0), follow_redirects=False,
                                           headers={"User-Agent": "pm-mcp-erc8004"})
        return self._http

    async def close(self) -> None:
        for reader in self._readers.values():
            await reader.close()
        self._readers.clear()
        if self._http is not None and self._own_http:
            await self._http.aclose()
            self._http = None

    def _rpc_map(self) -> dict[int, str]:
        try:
            return self.settings.rpc_url_map()
        except ValueError as exc:
            raise LookupProblem(str(exc)) from None

    def reader(self, chain_id: int) -> ChainReader:
        urls = self._rpc_map()
        url = urls.get(chain_id)
        if not url:
            configured = ", ".join(str(c) for c in urls) or "none"
            raise LookupProblem(
                f"no RPC URL for {chain_name(chain_id)} (chain {chain_id}). Add it to PM_MCP_RPC_URLS, e.g. "
                f"PM_MCP_RPC_URLS=\"{chain_id}=https://your-rpc.example\" (chains configured now: {configured}).")
        r = self._readers.get(chain_id)
        if r is None or r.url != url:
            r = self._readers[chain_id] = ChainReader(chain_id, url)
        return r

    def registries(self, chain_id: int, ref_registry: str | None, warnings: list[str]) -> Registries:
        s = self.settings
        if s.erc8004_identity:
            regs = Registries(s.erc8004_identity, s.erc8004_reputation, s.erc8004_validation, "configuration")
        else:
            chain = chain_by_id(chain_id)
            if chain is None:
                raise LookupProblem(
                    f"no official ERC-8004 deployment is known for chain {chain_id}; set PM_MCP_ERC8004_IDENTITY "
                    f"(and PM_MCP_ERC8004_REPUTATION, PM_MCP_ERC8004_VALIDATION) to its registry addresses.")
            regs = Registries(chain.identity, s.erc8004_reputation or chain.reputation,
                              s.erc8004_validation or chain.validation, "official deployment")
        if ref_registry and ref_registry.lower() != regs.identity:
            warnings.append(f"identity registry {ref_registry} is not the configured one ({_cs(regs.identity)}); "
                            f"its reputation and validation registries are unknown, so only identity is read")
            regs = Registries(ref_registry, None, None, "given in the agent id")
        return regs

    async def _check_registry(self, reader: ChainReader, address: str, role: str) -> str | None:
        """None when ``address`` has code and getVersion() is EXPECTED_VERSION, else the problem."""
        key = (reader.chain_id, address)
        if key in self._checked:
            return self._checked[key]
        code = await reader.get_code(address)
        if code in ("0x", "", None):
            problem = f"no contract at the {role} registry address {_cs(address)} on chain {reader.chain_id}"
        else:
            try:
                (version,) = await reader.call(address, "getVersion")
                problem = None if version == EXPECTED_VERSION else (
                    f"{role} registry {_cs(address)} reports version {version!r}, expected {EXPECTED_VERSION!r}")
            except Reverted:
                problem = f"{role} registry {_cs(address)} has no getVersion(); not an ERC-8004 v2 registry"
        self._checked[key] = problem
        return problem

    def resolve_chain(self, ref: AgentRef) -> int:
        if ref.chain_id is not None:
            return ref.chain_id
        urls = self._rpc_map()
        if len(urls) == 1:
            return next(iter(urls))
        known = ", ".join(f"{chain_name(c)} ({c})" for c in urls) or "none configured in PM_MCP_RPC_URLS"
        raise LookupProblem(f"say which chain the agent is on, e.g. 'base 1234' or '8453:1234' (chains with an RPC "
                            f"URL: {known}).")

    # ---------------------------------------------------------------- entry point
    async def lookup(self, agent: str, *, chain: str | int | None = None, trusted_clients: list[str] | None = None,
                     check_liveness: bool = False, limit: int = 10, offset: int = 0) -> AgentLookup:
        try:
            ref = parse_agent_ref(agent, chain)
        except ValueError as exc:
            raise LookupProblem(str(exc)) from None
        trusted = self._parse_trusted(trusted_clients)
        chain_id = self.resolve_chain(ref)
        reader = self.reader(chain_id)
        warnings: list[str] = []
        regs = self.registries(chain_id, ref.registry, warnings)
        limit = max(1, min(int(limit), 100))
        offset = max(0, int(offset))
        with count_rpc_calls() as calls:
            try:
                await reader.verify_chain()
                problems = await asyncio.gather(
                    self._check_registry(reader, regs.identity, "identity"),
                    self._check_registry(reader, regs.reputation, "reputation") if regs.reputation else _none(),
                    self._check_registry(reader, regs.validation, "validation") if regs.validation else _none())
                if problems[0] and problems[0].startswith("no contract"):
                    raise LookupProblem(problems[0] + "; check PM_MCP_ERC8004_IDENTITY / the chain")
                if problems[0]:
                    warnings.append(problems[0])
                if problems[1]:
                    warnings.append(problems[1] + "; reputation skipped")
                    regs.reputation = None
                if problems[2]:
                    warnings.append(problems[2] + "; validations skipped (the validation registry is not confirmed "
                                    "on every chain)")
                    regs.validation = None
                if ref.is_address:
                    result = await self._lookup_address(reader, regs, ref.address or "", trusted, check_liveness,
                                                        limit, offset, warnings, agent)
                else:
                    result = await self._lookup_agent(reader, regs, int(ref.agent_id or 0), trusted, check_liveness,
                                                      limit, offset, warnings, agent)
            except ChainError as exc:
                raise LookupProblem(str(exc)) from None
            result.rpc_calls = calls[0]
        return result

    @staticmethod
    def _parse_trusted(trusted: list[str] | None) -> list[str] | None:
        if not trusted:
            return None
        import re

        out = []
        for t in trusted[:MAX_TRUSTED_CLIENTS]:
            t = t.strip()
            if t.lower().startswith("eip155:"):
                t = t.rsplit(":", 1)[-1]
            if not re.fullmatch(r"0x[0-9a-fA-F]{40}", t):
                raise LookupProblem(f"trusted_clients entry {t!r} is not an address (0x followed by 40 hex digits)")
            out.append(t.lower())
        return out

    # ---------------------------------------------------------------- one agent
    async def _lookup_agent(self, reader: ChainReader, regs: Registries, agent_id: int, trusted: list[str] | None,
                            check_liveness: bool, limit: int, offset: int, warnings: list[str],
                            query: str) -> AgentLookup:
        chain_id = reader.chain_id
        latest_task = asyncio.ensure_future(reader.block_number())
        agent_topic = abi.topic_uint(agent_id)

        async def scan(addresses: list[str], topics: list[Any]) -> LogScan:
            return await reader.get_logs(addresses, topics, latest=await latest_task)

        ev = abi.event
        id_rep_addresses = [regs.identity] + ([regs.reputation] if regs.reputation else [])
        id_rep_topics = [[ev("Registered").topic0, ev("MetadataSet").topic0, ev("URIUpdated").topic0,
                          ev("NewFeedback").topic0, ev("FeedbackRevoked").topic0, ev("ResponseAppended").topic0],
                         agent_topic]

        async def registration_file() -> tuple[str, RegistrationFile | None, str | None]:
            (uri,) = await reader.call(regs.identity, "tokenURI", agent_id)
            if not uri:
                return uri, None, "the agent has no agent URI (registered without a registration file)"
            scheme = uri.split(":", 1)[0].lower() if ":" in uri else "?"
            try:
                raw = await fetch_registration_bytes(uri, self.http, self.settings.ipfs_gateway)
            except FetchError as exc:
                return uri, RegistrationFile(uri_scheme=scheme, fetched=False, problems=[str(exc)]), \
                    f"registration file not read: {exc}"
            return uri, parse_registration(raw, uri_scheme=scheme, chain_id=chain_id,
                                           identity_registry=_cs(regs.identity) or regs.identity,
                                           agent_id=agent_id), None

        async def validation_state() -> list[tuple[bytes, tuple]]:
            (hashes,) = await reader.call(regs.validation, "getAgentValidations", agent_id)
            hashes = list(hashes)
            if len(hashes) > MAX_VALIDATIONS:
                warnings.append(f"{len(hashes)} validation requests; the latest {MAX_VALIDATIONS} were read")
                hashes = hashes[-MAX_VALIDATIONS:]
            statuses = await asyncio.gather(*(reader.call(regs.validation, "getValidationStatus", h) for h in hashes))
            return list(zip(hashes, statuses))

        owner_t = reader.call(regs.identity, "ownerOf", agent_id)
        wallet_t = reader.call(regs.identity, "getAgentWallet", agent_id)
        file_t = registration_file()
        logs_t = scan(id_rep_addresses, id_rep_topics)
        rep_t = (reader.call(regs.reputation, "readAllFeedback", agent_id, trusted or [], "", "", True)
                 if regs.reputation else _none())
        val_t = validation_state() if regs.validation else _none()
        val_logs_t = (scan([regs.validation], [[ev("ValidationRequest").topic0, ev("ValidationResponse").topic0],
                                               None, agent_topic]) if regs.validation else _none())
        owner_r, wallet_r, file_r, logs_r, rep_r, val_r, val_logs_r = await asyncio.gather(
            owner_t, wallet_t, file_t, logs_t, rep_t, val_t, val_logs_t, return_exceptions=True)

        if isinstance(owner_r, Reverted):
            raise AgentNotFound(f"agent {agent_id} does not exist in the identity registry {_cs(regs.identity)} on "
                                f"{chain_name(chain_id)} (ids start at 0). Check the id and the chain.")
        for r in (owner_r, wallet_r, logs_r, latest_task.exception() if latest_task.done() else None):
            if isinstance(r, ChainError):
                raise r
            if isinstance(r, BaseException) and not isinstance(r, Reverted):
                raise r
        owner = owner_r[0]  # type: ignore[index]
        wallet = None if isinstance(wallet_r, BaseException) else wallet_r[0]
        scan_id_rep: LogScan = logs_r  # type: ignore[assignment]
        if not scan_id_rep.complete:
            warnings.append(f"event logs scanned from block {scan_id_rep.from_block} only: feedback endpoints/URIs, "
                            f"responses and metadata older than that are not shown (counts, values, tags and "
                            f"revocations come from contract state and are complete)")

        # ---- identity
        metadata: dict[str, bytes] = {}
        registered_block = None
        id_events = [e for e in scan_id_rep.logs if e["address"].lower() == regs.identity]
        for e in id_events:
            t0 = e["topics"][0]
            if t0 == ev("MetadataSet").topic0:
                d = ev("MetadataSet").decode(e)
                if d["metadataKey"] != "agentWallet":
                    metadata[d["metadataKey"]] = bytes(d["metadataValue"])
            elif t0 == ev("Registered").topic0:
                registered_block = int(e["blockNumber"], 16)
        if isinstance(file_r, BaseException):
            if isinstance(file_r, ChainError):
                raise file_r
            agent_uri, registration = "", None
            warnings.append(f"agent URI not read: {file_r}")
        else:
            agent_uri, registration, file_warning = file_r
            if file_warning:
                warnings.append(file_warning)
        if registration and registration.fetched and registration.problems:
            warnings.append("registration file: " + "; ".join(registration.problems[:4]))
        identity = Identity(
            agent_registry=f"eip155:{chain_id}:{_cs(regs.identity)}", identity_registry=_cs(regs.identity) or "",
            agent_id=agent_id, owner=_cs(owner) or "", agent_wallet=_cs(wallet) if wallet and wallet != _ZERO else None,
            agent_wallet_set=bool(wallet and wallet != _ZERO), agent_uri=agent_uri,
            metadata=[MetadataItem(key=k, value_hex=_hex(v), value_text=_text_or_none(v))
                      for k, v in sorted(metadata.items())],
            registered_block=registered_block)

        # ---- reputation
        reputation = None
        if regs.reputation:
            if isinstance(rep_r, BaseException):
                warnings.append(f"reputation not read: {rep_r}")
            else:
                rep_events = [e for e in scan_id_rep.logs if e["address"].lower() == regs.reputation]
                reputation = build_reputation(regs.reputation, rep_r, rep_events, trusted, limit, offset)

        # ---- validations
        validations = None
        if regs.validation:
            err = next((r for r in (val_r, val_logs_r) if isinstance(r, BaseException)), None)
            if err is not None:
                warnings.append(f"validations not read: {err}")
            else:
                validations = build_validations(regs.validation, val_r, val_logs_r)  # type: ignore[arg-type]
                if not val_logs_r.complete:  # type: ignore[union-attr]
                    warnings.append("validation events before the scanned range are not shown; requests without a "
                                    "response event there are marked 'unknown', not pending")

        liveness = None
        if check_liveness:
            from pm_mcp.identity.liveness import check_liveness as probe

            liveness = await probe(self.http, registration.services if registration else [])

        result = AgentLookup(summary="", query=query, chain_id=chain_id, chain_name=chain_name(chain_id),
                             identity=identity, registration=registration, reputation=reputation,
                             validations=validations, liveness=liveness, warnings=warnings,
                             logs_scanned_from_block=scan_id_rep.from_block, logs_complete=scan_id_rep.complete)
        result.summary = summarize(result)
        return result

    # ---------------------------------------------------------------- an address
    async def _lookup_address(self, reader: ChainReader, regs: Registries, address: str, trusted: list[str] | None,
                              check_liveness: bool, limit: int, offset: int, warnings: list[str],
                              query: str) -> AgentLookup:
        latest = await reader.block_number()
        ev = abi.event
        transfers, wallets = await asyncio.gather(
            reader.get_logs([regs.identity], [ev("Transfer").topic0, None, abi.topic_address(address)], latest=latest),
            reader.get_logs([regs.identity], [ev("MetadataSet").topic0, None, abi.topic_string("agentWallet")],
                            latest=latest))
        owner_ids = sorted({int(e["topics"][3], 16) for e in transfers.logs if len(e["topics"]) > 3})
        wallet_ids = sorted({int(e["topics"][1], 16) for e in wallets.logs
                             if bytes(ev("MetadataSet").decode(e)["metadataValue"]).hex() == address[2:]})

        async def current(fn: str, i: int) -> str | None:
            try:
                return (await reader.call(regs.identity, fn, i))[0]
            except Reverted:
                return None

        owners = await asyncio.gather(*(current("ownerOf", i) for i in owner_ids))
        holders = await asyncio.gather(*(current("getAgentWallet", i) for i in wallet_ids))
        owned = {i for i, o in zip(owner_ids, owners) if o and o.lower() == address}
        walleted = {i for i, w in zip(wallet_ids, holders) if w and w.lower() == address}
        agents = [OwnedAgent(agent_id=i, relation="owner+agent_wallet" if i in owned and i in walleted
                             else "owner" if i in owned else "agent_wallet") for i in sorted(owned | walleted)]
        complete = transfers.complete and wallets.complete
        if not complete:
            warnings.append(f"only blocks from {transfers.from_block} on were scanned: agents received earlier "
                            f"are not listed")
        chain_id = reader.chain_id
        if len(agents) == 1:
            inner = await self._lookup_agent(reader, regs, agents[0].agent_id, trusted, check_liveness, limit, offset,
                                             warnings, query)
            inner.address = _cs(address)
            inner.owned_agents = agents
            inner.owned_total = 1
            inner.summary = f"{_cs(address)} is the {agents[0].relation.replace('+', ' and ').replace('_', ' ')} of 1 agent. " \
                            + inner.summary
            return inner
        page = agents[offset:offset + limit]
        result = AgentLookup(summary="", query=query, chain_id=chain_id, chain_name=chain_name(chain_id),
                             address=_cs(address), owned_agents=page, owned_total=len(agents), warnings=warnings,
                             logs_scanned_from_block=transfers.from_block, logs_complete=complete)
        if not agents:
            result.summary = (f"{_cs(address)} owns no agent and is no agent's wallet in the identity registry "
                              f"{_cs(regs.identity)} on {chain_name(chain_id)}.")
        else:
            ids = ", ".join(str(a.agent_id) for a in page)
            more = f" (showing {len(page)} from offset {offset})" if len(page) < len(agents) else ""
            result.summary = (f"{_cs(address)} on {chain_name(chain_id)}: {len(agents)} agents{more}: ids {ids}. "
                              f"Look one up with '{chain_id}:<id>'.")
        return result


async def _none() -> None:
    return None


# -------------------------------------------------------------------- pure builders
def build_reputation(registry: str, state: tuple, events: list[dict[str, Any]], trusted: list[str] | None,
                     limit: int, offset: int) -> Reputation:
    clients, indexes, values, decimals, tag1s, tag2s, revoked = state
    ev = abi.event
    details: dict[tuple[str, int], dict[str, Any]] = {}
    responses: dict[tuple[str, int], list[FeedbackResponse]] = defaultdict(list)
    for e in events:
        t0 = e["topics"][0]
        if t0 == ev("NewFeedback").topic0:
            d = ev("NewFeedback").decode(e)
            details[(d["clientAddress"].lower(), int(d["feedbackIndex"]))] = {
                "endpoint": d["endpoint"], "feedback_uri": d["feedbackURI"],
                "feedback_hash": _hex(d["feedbackHash"]), "block": int(e["blockNumber"], 16)}
        elif t0 == ev("ResponseAppended").topic0:
            d = ev("ResponseAppended").decode(e)
            responses[(d["clientAddress"].lower(), int(d["feedbackIndex"]))].append(FeedbackResponse(
                responder=_cs(d["responder"]) or "", response_uri=d["responseURI"], block=int(e["blockNumber"], 16)))
    items: list[FeedbackItem] = []
    groups: dict[tuple[str, str], list[tuple[str, Decimal, int]]] = defaultdict(list)
    revoked_by_tag: dict[tuple[str, str], int] = defaultdict(int)
    for c, i, v, dec, t1, t2, rv in zip(clients, indexes, values, decimals, tag1s, tag2s, revoked):
        c = c.lower()
        value = Decimal(int(v)).scaleb(-int(dec))
        extra = details.get((c, int(i)), {})
        items.append(FeedbackItem(client=_cs(c) or c, feedback_index=int(i), value=_decimal_str(value),
                                  raw_value=str(int(v)), value_decimals=int(dec), tag1=t1, tag2=t2, revoked=bool(rv),
                                  responses=responses.get((c, int(i)), []), **extra))
        if rv:
            revoked_by_tag[(t1, t2)] += 1
        else:
            groups[(t1, t2)].append((c, value, int(dec)))
    tags = []
    for key in set(groups) | set(revoked_by_tag):
        entries = groups.get(key, [])
        vals = [v for _, v, _ in entries]
        places = max((d for _, _, d in entries), default=0) + 2
        avg = (sum(vals, Decimal(0)) / len(vals)).quantize(Decimal(1).scaleb(-places)) if vals else None
        tags.append(TagStats(tag1=key[0], tag2=key[1], count=len(entries), clients=len({c for c, _, _ in entries}),
                             average=_decimal_str(avg) if avg is not None else "",
                             min=_decimal_str(min(vals)) if vals else "", max=_decimal_str(max(vals)) if vals else "",
                             revoked=revoked_by_tag.get(key, 0)))
    tags.sort(key=lambda t: (-t.count, t.tag1, t.tag2))
    items.sort(key=lambda f: (-(f.block if f.block is not None else -1), f.client, -f.feedback_index))
    active = [f for f in items if not f.revoked]
    return Reputation(registry=_cs(registry) or registry, trusted_clients=[_cs(t) or t for t in trusted] if trusted
                      else None, feedback_count=len(active), revoked_count=len(items) - len(active),
                      client_count=len({f.client for f in active}), tags=tags, recent=items[offset:offset + limit],
                      recent_offset=offset, recent_total=len(items))


def build_validations(registry: str, state: list[tuple[bytes, tuple]], scan: LogScan) -> Validations:
    ev = abi.event
    request_uri: dict[str, str] = {}
    answers: dict[str, list[ValidationResponseItem]] = defaultdict(list)
    for e in scan.logs:
        t0 = e["topics"][0]
        if t0 == ev("ValidationRequest").topic0:
            d = ev("ValidationRequest").decode(e)
            request_uri[_hex(d["requestHash"])] = d["requestURI"]
        elif t0 == ev("ValidationResponse").topic0:
            d = ev("ValidationResponse").decode(e)
            answers[_hex(d["requestHash"])].append(ValidationResponseItem(
                response=int(d["response"]), response_uri=d["responseURI"], response_hash=_hex(d["responseHash"]),
                tag=d["tag"], block=int(e["blockNumber"], 16)))
    items = []
    for h, (validator, _agent, response, _rhash, tag, last_update) in state:
        key = _hex(h)
        got = answers.get(key, [])
        if got:
            status = "answered"
        elif scan.complete:
            status = "pending"
        elif int(response) > 0:
            status = "answered"
        else:
            status = "unknown"
        items.append(ValidationItem(
            request_hash=key, validator=_cs(validator) or validator, request_uri=request_uri.get(key), status=status,
            response=int(response) if status == "answered" else None, tag=tag if status == "answered" else None,
            last_update=int(last_update), responses=got))
    items.reverse()  # newest first
    by_validator: dict[str, list[ValidationItem]] = defaultdict(list)
    for it in items:
        by_validator[it.validator].append(it)
    return Validations(
        registry=_cs(registry) or registry, requests=items,
        answered=sum(1 for i in items if i.status == "answered"),
        pending=sum(1 for i in items if i.status == "pending"),
        unknown=sum(1 for i in items if i.status == "unknown"),
        validators=[ValidatorStats(validator=v, requests=len(lst), answered=sum(1 for i in lst if i.status == "answered"))
                    for v, lst in sorted(by_validator.items())])


def summarize(r: AgentLookup) -> str:
    """The plain-words first line(s) of a lookup."""
    ident = r.identity
    assert ident is not None
    parts = [f"Agent {ident.agent_id} on {r.chain_name}: owned by {_short(ident.owner)}"]
    if ident.agent_wallet_set:
        parts.append(f"agent wallet {_short(ident.agent_wallet)}")
    reg = r.registration
    if reg is None:
        parts.append("no registration file")
    elif not reg.fetched:
        parts.append(f"registration file unreadable ({reg.problems[0] if reg.problems else 'error'})")
    else:
        name = f"'{reg.name}'" if reg.name else "unnamed"
        back = {True: "points back", False: "does NOT point back", None: "no registrations entry"}[reg.points_back]
        validity = "valid" if reg.valid else "not valid"
        parts.append(f"file {name} ({reg.uri_scheme}, {validity}, {back})")
        kinds = [s.kind if s.kind != "other" else s.name for s in reg.services]
        parts.append(f"{len(reg.services)} services" + (f" ({', '.join(dict.fromkeys(kinds))})" if kinds else ""))
    rep = r.reputation
    if rep is not None:
        scope = " from trusted clients" if rep.trusted_clients else ""
        if rep.feedback_count == 0:
            parts.append(f"no feedback{scope}" + (f" ({rep.revoked_count} revoked)" if rep.revoked_count else ""))
        else:
            tag_bits = []
            for t in rep.tags[:4]:
                if not t.count:
                    continue
                label = t.tag1 or "(untagged)"
                if t.tag2:
                    label += f"/{t.tag2}"
                tag_bits.append(f"'{label}' avg {t.average} ({t.count} from {t.clients} "
                                f"client{'s' if t.clients != 1 else ''})")
            more = f" +{len(rep.tags) - 4} more tags" if len(rep.tags) > 4 else ""
            revoked = f", {rep.revoked_count} revoked" if rep.revoked_count else ""
            parts.append(f"{rep.feedback_count} reviews{scope} from {rep.client_count} clients{revoked}: "
                         + "; ".join(tag_bits) + more)
    val = r.validations
    if val is not None:
        if not val.requests:
            parts.append("no validations")
        else:
            scores = [f"{i.response}/100" for i in val.requests if i.status == "answered"][:5]
            bits = [f"{val.answered} answered" + (f" ({', '.join(scores)})" if scores else "")]
            if val.pending:
                bits.append(f"{val.pending} pending")
            if val.unknown:
                bits.append(f"{val.unknown} unknown")
            parts.append(f"validations: {', '.join(bits)} by {len(val.validators)} validator"
                         f"{'s' if len(val.validators) != 1 else ''}")
    if r.liveness is not None:
        if not r.liveness:
            parts.append("no http endpoint to probe")
        for p in r.liveness:
            parts.append(f"{p.service} endpoint answered in {p.latency_ms} ms (HTTP {p.status})" if p.answered
                         else f"{p.service} endpoint did not answer ({p.detail})")
    return "; ".join(parts) + "."


def render_text(r: AgentLookup) -> str:
    """Concise text for the model: summary, warnings, then the key details."""
    lines = [r.summary]
    for w in r.warnings[:6]:
        lines.append(f"warning: {w}")
    if r.owned_agents is not None and r.identity is None:
        for a in r.owned_agents:
            lines.append(f"- agent {a.agent_id} ({a.relation})")
        return "\n".join(lines)
    ident = r.identity
    if ident:
        lines.append(f"id: {ident.agent_registry}:{ident.agent_id}; owner {ident.owner}; "
                     f"wallet {ident.agent_wallet or 'unset'}; uri {ident.agent_uri[:120] or '(none)'}")
        if ident.metadata:
            lines.append("metadata: " + ", ".join(f"{m.key}={m.value_text if m.value_text is not None else m.value_hex}"
                                                  for m in ident.metadata[:8]))
    if r.registration and r.registration.services:
        lines.append("services: " + "; ".join(f"{s.kind} {s.endpoint}" for s in r.registration.services[:8]))
    rep = r.reputation
    if rep and rep.tags:
        lines.append("reputation by tag (never averaged across tags):")
        for t in rep.tags[:10]:
            label = t.tag1 + (f"/{t.tag2}" if t.tag2 else "")
            lines.append(f"  {label or '(untagged)'}: n={t.count} clients={t.clients} avg={t.average or '-'} "
                         f"min={t.min or '-'} max={t.max or '-'} revoked={t.revoked}")
    if rep and rep.recent:
        lines.append(f"recent feedback ({rep.recent_offset + 1}-{rep.recent_offset + len(rep.recent)} of "
                     f"{rep.recent_total}):")
        for f in rep.recent:
            extra = " REVOKED" if f.revoked else ""
            if f.responses:
                extra += f" +{len(f.responses)} response(s)"
            lines.append(f"  {_short(f.client)} #{f.feedback_index}: {f.value} [{f.tag1}{'/' + f.tag2 if f.tag2 else ''}]"
                         f"{extra}")
    val = r.validations
    if val and val.requests:
        lines.append("validations:")
        for v in val.requests[:10]:
            score = f" {v.response}/100" if v.response is not None else ""
            lines.append(f"  {v.request_hash[:10]}… by {_short(v.validator)}: {v.status}{score}"
                         f"{' tag ' + v.tag if v.tag else ''}")
    lines.append(f"({r.rpc_calls} RPC calls)")
    return "\n".join(lines)
