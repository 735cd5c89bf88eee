"""A language-model agent for wsao_trio: any OpenAI-compatible Chat Completions server.

Needs the ``llm`` extra (``pip install wsao_trio[llm]``, which brings the ``openai``
package). :class:`LlmAgent` is the agent; :mod:`wsao_trio.llm.chunks` and
:mod:`wsao_trio.llm.conversation` are its sans-IO parts and
:mod:`wsao_trio.llm.failures` names its ``agent_error`` codes.
"""

from wsao_trio.extras import require

require("openai", extra="llm", needed_by=__name__)

from wsao_trio.llm.agent import LlmAgent as LlmAgent  # noqa: E402  (after the check)
from wsao_trio.llm.memory import ThreadMemory as ThreadMemory  # noqa: E402

__all__ = ["LlmAgent", "ThreadMemory"]
