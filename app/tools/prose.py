"""Markdown to plain prose, so quoted documentation reads as sentences in a chat.

:func:`blocks` walks a Markdown file line by line, once: fenced code is dropped (code is
not an answer to read aloud), a heading becomes the section of the blocks under it, a
table becomes one sentence per row ("WSAO_BIND: where to listen (type: string,
default: 127.0.0.1:8000)"), each list item is a paragraph of its own, and inline
markup (backticks, bold, links) is reduced to its text. Every pattern is a flat
character class or a literal, so the walk is linear in the file's size. Short lead-ins
("Notes:") and tables of contents are left out: they say nothing by themselves.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

import attrs

_LINK = re.compile(r"\[([^\]\n]*+)\]\([^)\n]*+\)")
_EMPHASIS = re.compile(r"\*\*|__")
_HEADING = re.compile(r"#{1,6}+\s++")
_BULLET = re.compile(r"(?:[-*+]|\d{1,3}+[.)])\s++")
_TOC_LINE = re.compile(r"(?:[-*+]|\d{1,3}+[.)])\s++\[[^\]\n]*+\]\(#[^)\n]*+\)")
LEAD_IN_WORDS = 25
_SEPARATOR_CELL = re.compile(r"\s*+:?-{3,}+:?\s*+")


@attrs.frozen
class Block:
    """One paragraph of prose and the heading it sits under ("" before any heading)."""

    section: str
    text: str


def inline(text: str) -> str:
    """``text`` without links' targets, emphasis or backticks, whitespace collapsed.

    Code spans keep their text as written (``**settings`` stays), only the backticks go.
    """
    pieces = _LINK.sub(r"\1", text).split("`")
    prose = (_EMPHASIS.sub("", piece) if i % 2 == 0 else piece for i, piece in enumerate(pieces))
    return " ".join("".join(prose).split())


def blocks(markdown: str) -> Iterator[Block]:
    """The prose blocks of ``markdown``, in order (see the module docstring)."""
    section = ""
    for lines in _chunks(markdown):
        heading = _HEADING.match(lines[0])
        if heading is not None:
            section, lines = inline(lines[0][heading.end() :]), lines[1:]
        if not lines:
            continue
        if all(_TOC_LINE.fullmatch(line) for line in lines):
            continue  # a table of contents: links, nothing to read
        if all(line.startswith("|") for line in lines):
            texts: Iterator[str] = table_rows(lines)
        else:
            texts = (inline(" ".join(item)) for item in list_items(lines))
        yield from (Block(section, text) for text in texts if _readable(text))


def list_items(lines: Sequence[str]) -> Iterator[list[str]]:
    """Each list item of a chunk (markers removed) and the text before the first one."""
    item: list[str] = []
    for line in lines:
        bullet = _BULLET.match(line)
        if bullet is not None and item:
            yield item
            item = []
        item.append(line[bullet.end() :] if bullet is not None else line)
    if item:
        yield item


def _readable(text: str) -> bool:
    """Whether ``text`` says something by itself (not a lead-in to a list or code)."""
    return bool(text) and not (text.endswith(":") and len(text.split()) < LEAD_IN_WORDS)


def _chunks(markdown: str) -> Iterator[list[str]]:
    """Blank-line separated groups of stripped lines, fenced code left out."""
    chunk: list[str] = []
    fenced = False
    for raw in markdown.splitlines():
        line = raw.strip()
        if line.startswith("```") or line.startswith("~~~"):
            fenced = not fenced
        elif line and not fenced:
            chunk.append(line)
            continue
        if chunk:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def table_rows(lines: Sequence[str]) -> Iterator[str]:
    """One sentence per body row of a Markdown table: "first: last (header: cell, …)"."""
    rows = [_cells(line) for line in lines]
    rows = [row for row in rows if not all(_SEPARATOR_CELL.fullmatch(c) for c in row)]
    if len(rows) < 2:
        return
    header = [inline(cell) for cell in rows[0]]
    for row in rows[1:]:
        cells = [inline(cell) for cell in row]
        if len(cells) < 2:
            yield cells[0] if cells else ""
            continue
        middle = ", ".join(f"{h}: {c}" for h, c in zip(header[1:-1], cells[1:-1], strict=False))
        yield f"{cells[0]}: {cells[-1]}" + (f" ({middle})" if middle else "")


def _cells(line: str) -> list[str]:
    return line.strip().strip("|").split("|")
