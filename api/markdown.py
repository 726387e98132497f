"""Markdown for LLM output, rendered safely: raw HTML is escaped, unsafe link schemes refused,
and nothing is loaded from elsewhere — an image becomes a link the reader may follow (or just its
text), so a planted image URL cannot track or leak anything when the page opens."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.token import Token
from markupsafe import Markup

# html=False: any HTML in the text is shown as text, never interpreted. markdown-it's link
# validation already refuses javascript:, vbscript:, file: and non-image data: URLs.
_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")


def _image_as_link(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env)
    label = escapeHtml(f"image: {alt}" if alt else "image")
    src = str(token.attrGet("src") or "")
    if src.lower().startswith(("https://", "http://")):
        return f'<a href="{escapeHtml(src)}" rel="nofollow noopener noreferrer">{label}</a>'
    return label  # data: and relative images: the text only


_md.add_render_rule("image", _image_as_link)


def render_markdown(text: str | None) -> Markup:
    return Markup(_md.render(text or ""))  # noqa: S704 (escaped by markdown-it with html disabled)
