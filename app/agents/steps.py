"""What the assistant plans: tool calls with a visible reason, and the shared patterns.

Every pattern here runs in linear time on the (capped) question: numbers use a
lookbehind and possessive quantifiers, so no match ever re-scans a run of digits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

# The lookbehind keeps a match from starting inside a run of digits and the possessive
# quantifiers never give digits back: "1" * 60000 took 126 s (each of 60,000 start
# positions re-scanned the rest of the run); it now takes one linear pass.
NUMBER = r"(?<![\d.])[-+]?\d++(?:\.\d++)?+"
UNIT = r"°?[A-Za-z]++"


@attrs.frozen
class ToolStep:
    """One planned tool call and the visible reason for it.

    Attributes:
        tool: the tool's name.
        arguments: what the tool is called with (shown in ``tool_executing``).
        reason: the ``agent_thinking`` line said before the call.
        label: how the answer names what was asked ("15% of 80", "a marathon"), if the
            question said it in words rather than in the tool's own terms.
    """

    tool: str
    arguments: Mapping[str, Any]
    reason: str
    label: str = ""
