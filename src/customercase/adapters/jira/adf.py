"""Atlassian Document Format: plain text in, plain text out (external-apis.md 1.9)."""

from __future__ import annotations

from typing import Any


def _paragraph(text: str) -> dict[str, Any]:
    return {"type": "paragraph", "content": [{"type": "text", "text": text}] if text else []}


def to_adf(text: str, link: str | None = None) -> dict[str, Any]:
    """One paragraph per line; the link, when given, as a last paragraph of its own."""
    content = [_paragraph(line) for line in text.splitlines()] if text else []
    if link:
        mark = {"type": "link", "attrs": {"href": link}}
        content.append(
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": "On the forum: "},
                    {"type": "text", "text": link, "marks": [mark]},
                ],
            }
        )
    return {"type": "doc", "version": 1, "content": content}


def to_text(doc: Any) -> str:
    """The text of an ADF document, a newline per block; a plain string passes through."""
    if doc is None:
        return ""
    if isinstance(doc, str):
        return doc
    blocks: list[str] = []

    def inline(node: Any) -> str:
        if not isinstance(node, dict):
            return ""
        if node.get("type") == "text":
            return str(node.get("text", ""))
        if node.get("type") == "hardBreak":
            return "\n"
        return "".join(inline(child) for child in node.get("content", []) or [])

    for block in doc.get("content", []) if isinstance(doc, dict) else []:
        blocks.append(inline(block))
    return "\n".join(blocks).strip()
