"""Tool results: concise text first (Claude Desktop's model reads only the text), structured beside it.

A tool declares ``-> Annotated[CallToolResult, OutModel]`` so the client sees OutModel's JSON schema
as ``outputSchema``, and returns ``tool_result(model, text)``.
"""

# No `from __future__ import annotations` here: annotations stay objects, so pydantic and the SDK (which reads
# every tool's signature several times while registering it) do not compile and eval strings at start-up.

from collections.abc import Sequence

from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ContentBlock, TextContent
from pydantic import BaseModel

from pm_mcp.domain.money import MoneyError

__all__ = ["tool_result", "ToolError", "user_error"]


def tool_result(model: BaseModel, text: str, extra: Sequence[ContentBlock] = ()) -> CallToolResult:
    return CallToolResult(content=[TextContent(text=text), *extra],
                          structured_content=model.model_dump(mode="json", by_alias=True))


def user_error(exc: Exception) -> ToolError:
    """Turn an expected failure into a ToolError the model can read and act on."""
    if isinstance(exc, ToolError):
        return exc
    if isinstance(exc, (MoneyError, ValueError, KeyError)):
        msg = exc.args[0] if exc.args else str(exc)
        return ToolError(str(msg))
    return ToolError(f"{type(exc).__name__}: {exc}")
