"""``python -m tests.support.browser_markdown_app``: the demo service plus a ``markdown`` agent.

The browser test needs an answer that holds Markdown *and* hostile HTML (a ``<script>``
tag, an ``onerror`` handler, a ``javascript:`` link) to prove the page renders the one
and neutralises the other. No shipped agent answers like that, so this process serves
the real app (same settings, routes and agents) with one more agent registered.
"""

from __future__ import annotations

import sys
from typing import Any

import trio

from app.__main__ import serve
from app.agents import build_registry
from app.agents.assistant import chunks
from app.server import DOCS_DIR, create_app
from wsao_trio._runs.runcontext import RunContext
from wsao_trio.config import load_settings

ANSWER = """## Formatted answer

Here is **bold**, *italic* and `inline code`.

- first item
- second item

| city | zone |
|---|---|
| Tokyo | Asia/Tokyo |
| Paris | Europe/Paris |

```python
print("hello")
```

<script>window.__pwned = "script"</script>
<img src="x" onerror="window.__pwned = 'img'">

[a bad link](javascript:window.__pwned='link') and [a good link](https://example.org/docs)
"""


class MarkdownAgent:
    """Thinks once, streams :data:`ANSWER` in chunks and returns it."""

    async def run(self, run: RunContext) -> Any:
        await run.thinking("Writing a formatted answer.")
        for piece in chunks(ANSWER, parts=6):
            await run.delta(piece)
            await trio.sleep(0.05)
        return {"answer": ANSWER}


def main() -> int:
    settings = load_settings()
    registry = build_registry(DOCS_DIR)
    registry.register_agent("markdown", MarkdownAgent())
    app = create_app(settings, registry)
    print(f"wsao: test service on http://{settings.bind}/", flush=True)
    trio.run(serve, app, settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
