"""The ``search_docs`` tool: keyword search over the project's own ``docs/*.md``.

Each Markdown file is split into prose paragraphs by :mod:`app.tools.prose` (code
left out, each table row a sentence, markup reduced to text, each paragraph under its
heading); a paragraph scores one point per occurrence of a query keyword (a word of the
query that is not a stop word; keywords of four letters or more also match longer words
they start, so "reconnect" finds "reconnecting"). The best three paragraphs come back
with their file name, section, the keywords they contain and a snippet, so a caller
can tell a real match (most keywords) from a stray one. Files are read in a worker
thread, fresh on every call, so edits to the docs show up without a restart.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import attrs
import trio

from app.tools.prose import blocks
from wsao_trio import Tool

MAX_RESULTS = 3
SNIPPET_CHARS = 280
MAX_QUERY_CHARS = 500
MAX_FILE_BYTES = 1_000_000
PREFIX_MATCH_MIN = 4
# keeps a one-line paragraph with one keyword from outranking a relevant paragraph
DENSITY_PADDING = 20

STOP_WORDS = frozenset(
    (
        *("a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for"),
        *("from", "how", "i", "in", "is", "it", "me", "my", "of", "on", "or", "our"),
        *("please", "show", "tell", "that", "the", "this", "to", "what", "when", "where"),
        *("which", "who", "why", "with", "you", "your", "about", "docs", "doc"),
        *("documentation", "explain", "find", "search", "there", "happen", "happens"),
        *("after", "before", "get", "use", "work", "works", "should", "would", "could"),
    )
)

_WORD = re.compile(r"[a-z0-9]+")


@attrs.frozen
class Paragraph:
    """One paragraph of one docs file."""

    file: str
    index: int
    text: str
    section: str = ""


@attrs.frozen
class Hit:
    """A scored paragraph."""

    paragraph: Paragraph
    score: int


def keywords(query: str) -> tuple[str, ...]:
    """The distinct keywords of ``query``, lower-cased, stop words removed, in order."""
    words = _WORD.findall(query.lower()[:MAX_QUERY_CHARS])
    return tuple(dict.fromkeys(w for w in words if w not in STOP_WORDS))


def split_paragraphs(file: str, text: str) -> tuple[Paragraph, ...]:
    """Split Markdown ``text`` into its prose paragraphs (see :func:`prose.blocks`)."""
    return tuple(
        Paragraph(file, i, block.text, block.section) for i, block in enumerate(blocks(text))
    )


def load_paragraphs(docs_dir: Path) -> tuple[Paragraph, ...]:
    """Every paragraph of every ``*.md`` file directly in ``docs_dir`` (blocking I/O)."""
    if not docs_dir.is_dir():
        return ()
    paragraphs: list[Paragraph] = []
    for path in sorted(docs_dir.glob("*.md")):
        if path.is_file() and path.stat().st_size <= MAX_FILE_BYTES:
            text = path.read_text(encoding="utf-8", errors="replace")
            paragraphs.extend(split_paragraphs(path.name, text))
    return tuple(paragraphs)


def matched(paragraph: Paragraph, terms: Sequence[str]) -> list[str]:
    """The keywords ``terms`` that occur in ``paragraph`` or its section, in query order."""
    words = set(_WORD.findall(f"{paragraph.section} {paragraph.text}".lower()))
    return [term for term in terms if any(_matches(word, term) for word in words)]


def score(paragraph: Paragraph, terms: Sequence[str]) -> int:
    """How many times the keywords ``terms`` occur in ``paragraph``."""
    words = _WORD.findall(paragraph.text.lower())
    return sum(1 for word in words for term in terms if _matches(word, term))


def _matches(word: str, term: str) -> bool:
    return word == term or (len(term) >= PREFIX_MATCH_MIN and word.startswith(term))


def rank(paragraphs: Sequence[Paragraph], query: str, limit: int = MAX_RESULTS) -> list[Hit]:
    """The best ``limit`` paragraphs for ``query``.

    Most distinct keywords first (in the paragraph or its heading), then most keywords
    in the heading (a paragraph of the section about it), then the densest
    (occurrences per word, so a long paragraph does not win by length alone), then
    document order.
    """
    terms = keywords(query)
    if not terms:
        return []
    hits = [Hit(p, s) for p in paragraphs if (s := score(p, terms)) > 0]
    hits.sort(key=lambda hit: _relevance(hit, terms), reverse=True)
    return hits[:limit]


def _relevance(hit: Hit, terms: Sequence[str]) -> tuple[int, int, float]:
    heading = Paragraph(hit.paragraph.file, 0, hit.paragraph.section)
    density = hit.score / (len(hit.paragraph.text.split()) + DENSITY_PADDING)
    return len(matched(hit.paragraph, terms)), len(matched(heading, terms)), density


def snippet(text: str, terms: Sequence[str], width: int = SNIPPET_CHARS) -> str:
    """About ``width`` characters of ``text`` around its first keyword.

    It starts at the paragraph's start when the keyword comes early, else at the
    beginning of that keyword's sentence when the sentence starts close enough, and
    ends at a sentence's end when one falls in the second half; "…" marks what was cut.
    """
    if len(text) <= width:
        return text
    lowered = text.lower()
    first = min((i for term in terms if (i := lowered.find(term)) >= 0), default=0)
    sentence = text.rfind(". ", 0, first) + 2 if text.rfind(". ", 0, first) >= 0 else 0
    start = sentence if first - sentence <= width // 2 else max(0, first - width // 4)
    start = 0 if first <= width // 2 else start  # the paragraph's own start is best
    end = min(len(text), start + width)
    stop = text.rfind(". ", start, end)
    end = stop + 1 if stop > start + width // 2 else end
    body = text[start:end].strip()
    return ("…" if start > 0 else "") + body + ("…" if end < len(text) else "")


def search(paragraphs: Sequence[Paragraph], query: str) -> dict[str, Any]:
    """The tool's answer for ``query`` over ``paragraphs``."""
    terms = keywords(query)
    results = [
        {
            "file": h.paragraph.file,
            "section": h.paragraph.section,
            "score": h.score,
            "matched": matched(h.paragraph, terms),
            "snippet": snippet(h.paragraph.text, terms),
        }
        for h in rank(paragraphs, query)
    ]
    return {"query": query, "keywords": list(terms), "results": results}


def docs_search_tool(docs_dir: Path) -> Tool:
    """Build the ``search_docs`` tool over the Markdown files in ``docs_dir``."""

    async def handle(arguments: Mapping[str, Any]) -> dict[str, Any]:
        query = arguments.get("query")
        if not isinstance(query, str) or not query.strip():
            raise ValueError("argument 'query' (a non-empty string) is required")
        paragraphs = await trio.to_thread.run_sync(load_paragraphs, docs_dir)
        return search(paragraphs, query)

    return Tool(
        name="search_docs",
        description="Search the project's documentation; returns the 3 best paragraphs.",
        handler=handle,
        parameters=MappingProxyType(
            {"type": "object", "properties": {"query": {"type": "string"}}}
        ),
    )
