"""ERC-8004 surface: the `lookup_agent` tool and the `erc8004://{chainId}/{agentId}` resource.

Only the output models are imported at server start; the lookup code (and web3 through it) is
imported on the first call, so the cold start does not pay for it.
"""

# No `from __future__ import annotations` here: annotations stay objects, so pydantic and the SDK (which reads
# every tool's signature several times while registering it) do not compile and eval strings at start-up.

import logging
from contextlib import AsyncExitStack
from typing import Annotated

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from pm_mcp.app import AppState, on_startup
from pm_mcp.identity.models import AgentLookup
from pm_mcp.surface.render import tool_result

log = logging.getLogger(__name__)
SERVICE = "erc8004"

LOOKUP_DESCRIPTION = (
    "Check an ERC-8004 agent (identity, reputation, validation) before relying on it: owner and verified "
    "wallet, its registration file and services (MCP/A2A/ENS/DID/web), feedback count and value per tag "
    "(never one average across tags), validations (pending is not 0). agent: '8453:1234', 'base 1234', "
    "'eip155:<chainId>:<registry>:<id>', or an owner/wallet address (lists its agents). "
    "trusted_clients limits reviews to those addresses. check_liveness=true probes the endpoints. "
    "Values are decimal strings.")


@on_startup(SERVICE, order=300)
async def _start_identity(state: AppState, stack: AsyncExitStack) -> None:
    """The IdentityService is created on first use (see _service); close it at shutdown if it was."""

    async def close() -> None:
        service = state.services.pop(SERVICE, None)
        if service is not None:
            await service.close()

    stack.push_async_callback(close)


def _service(state: AppState):
    """state.services["erc8004"]: a pm_mcp.identity.lookup.IdentityService, created on first use."""
    service = state.services.get(SERVICE)
    if service is None:
        from pm_mcp.identity.lookup import IdentityService

        service = state.services[SERVICE] = IdentityService(state.settings)
    return service


def register(mcp: MCPServer) -> None:
    @mcp.tool(
        name="lookup_agent",
        title="Look up an ERC-8004 agent",
        description=LOOKUP_DESCRIPTION,
        annotations=ToolAnnotations(title="Look up an ERC-8004 agent", read_only_hint=True, destructive_hint=False,
                                    idempotent_hint=True, open_world_hint=True),
    )
    async def lookup_agent(
        agent: Annotated[str, Field(description="The agent: '8453:1234', 'base 1234', "
                                                "'eip155:8453:0x8004…:1234' or an owner/wallet address.",
                                    max_length=200)],
        ctx: Context[AppState],
        chain: Annotated[str | None, Field(description="Chain name or id when `agent` has none (e.g. 'base').",
                                           max_length=40)] = None,
        trusted_clients: Annotated[list[str] | None, Field(description="Count only feedback from these client "
                                                                       "addresses.", max_length=100)] = None,
        check_liveness: Annotated[bool, Field(description="Probe the https/MCP/A2A endpoints (slower).")] = False,
        limit: Annotated[int, Field(ge=1, le=100, description="Recent feedback / owned agents per page.")] = 10,
        offset: Annotated[int, Field(ge=0, description="Page offset for those lists.")] = 0,
    ) -> Annotated[CallToolResult, AgentLookup]:
        from pm_mcp.identity.lookup import LookupProblem, render_text

        service = _service(ctx.request_context.lifespan_context)
        try:
            result = await service.lookup(agent, chain=chain, trusted_clients=trusted_clients,
                                          check_liveness=check_liveness, limit=limit, offset=offset)
        except LookupProblem as exc:
            raise ToolError(str(exc)) from None
        except Exception as exc:  # keep the server up and say something useful
            log.exception("lookup_agent failed")
            raise ToolError(f"lookup failed unexpectedly ({type(exc).__name__}); try again, or check "
                            f"PM_MCP_RPC_URLS and the agent id") from None
        return tool_result(result, render_text(result))

    @mcp.resource("erc8004://{chainId}/{agentId}", name="erc8004_agent", title="ERC-8004 agent",
                  description="The lookup_agent result for one agent as JSON.", mime_type="application/json")
    async def erc8004_agent(chainId: str, agentId: str, ctx: Context) -> str:  # noqa: N803 - URI variable names
        from pm_mcp.identity.lookup import AgentNotFound, LookupProblem

        service = _service(ctx.request_context.lifespan_context)
        try:
            result: AgentLookup = await service.lookup(f"{chainId}:{agentId}")
        except AgentNotFound as exc:
            raise ResourceNotFoundError(str(exc)) from None
        except LookupProblem as exc:
            raise ResourceError(str(exc)) from None
        return result.model_dump_json(indent=1)
