"""Markdown for LLM output, rendered safely: raw HTML is escaped, unsafe link schemes refused."""

from __future__ import annotations

from markdown_it import MarkdownIt
from markupsafe import Markup

# html=False: any HTML in the text is shown as text, never interpreted. markdown-it's link
# validation already refuses javascript:, vbscript:, file: and non-image data: URLs.
_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")


def render_markdown(text: str | None) -> Markup:
    return Markup(_md.render(text or ""))  # noqa: S704 (escaped by markdown-it with html disabled)
