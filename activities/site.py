"""The website deliverable: the file set, the buy button launch rewrites, and the checks a site
must pass (every local link resolves, no external resources, no template placeholders).

Pure functions, shared by the offline producer and rubric, the OpenAI web prompt and launch.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from posixpath import dirname, normpath

# The files of a project's website (Document.files of the web task's deliverable).
SITE_FILES = ("index.html", "terms.html", "privacy.html", "style.css")
# Exactly this element on index.html: launch replaces it with the real payment link (or leaves
# it, saying clearly that payments are not live yet).
BUY_BUTTON = '<a id="buy" class="buy" href="#payments-not-live">Payments are not live yet</a>'
# Roles whose code deliverable for a selling project is the website.
WEB_ROLES = ("web-developer", "frontend-engineer")

_PLACEHOLDER = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
_CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)|@import\s+['\"]([^'\"]+)['\"]", re.IGNORECASE)
_EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)


def is_site(files: dict[str, str]) -> bool:
    return "index.html" in files


def is_website_task(role: str, deliverable_kind: str, title: str = "", task_id: str = "") -> bool:
    """The project's website: a code task of a web role (not a fix list or a backend service)."""
    if deliverable_kind != "code" or role not in WEB_ROLES:
        return False
    text = f"{title} {task_id}".lower()
    return any(w in text for w in ("website", "site", "landing", "page", "build", "storefront", "shop"))


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.refs: list[tuple[str, str, str]] = []  # (tag, attribute, value)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src", "action", "srcset", "poster", "data") and value is not None:
                self.refs.append((tag, name, value.strip()))
            if name == "style" and value:
                for found in _CSS_URL.finditer(value):
                    self.refs.append((tag, "style", (found.group(1) or found.group(2)).strip()))


def references(path: str, text: str) -> list[str]:
    """Every URL a file refers to: href/src/… attributes and CSS url()/@import."""
    refs: list[str] = []
    if path.endswith((".html", ".htm")):
        parser = _Refs()
        parser.feed(text)
        refs += [value for _, _, value in parser.refs]
        for block in re.findall(r"<style[^>]*>(.*?)</style>", text, re.DOTALL | re.IGNORECASE):
            refs += [(m.group(1) or m.group(2)).strip() for m in _CSS_URL.finditer(block)]
    elif path.endswith(".css"):
        refs += [(m.group(1) or m.group(2)).strip() for m in _CSS_URL.finditer(text)]
    return refs


def resolve(from_path: str, ref: str) -> str | None:
    """The site path a local reference points at ("" for a same-page anchor), None if external."""
    if _EXTERNAL.match(ref):
        return None
    target = ref.split("#", 1)[0].split("?", 1)[0]
    if not target:
        return ""
    if target.startswith("/"):
        return normpath(target.lstrip("/"))
    base = dirname(from_path)
    return normpath(f"{base}/{target}" if base else target)


def site_problems(files: dict[str, str]) -> list[str]:
    """What is wrong with a static site: missing files, dead local links, external resources,
    template placeholders, a missing buy button. Empty when the site is sound."""
    problems: list[str] = []
    missing = [name for name in SITE_FILES if name not in files]
    if missing:
        problems.append("missing file(s): " + ", ".join(missing))
    for path, text in sorted(files.items()):
        if _PLACEHOLDER.search(text):
            problems.append(f"{path} contains a template placeholder ({_PLACEHOLDER.search(text).group(0)[:40]})")  # type: ignore[union-attr]
        for ref in references(path, text):
            if ref.startswith(("mailto:", "tel:")):
                continue
            target = resolve(path, ref)
            if target is None:
                problems.append(f"{path} loads or links an external resource: {ref[:80]}")
            elif target and target not in files:
                problems.append(f"{path} links {ref} which does not exist")
    index = files.get("index.html", "")
    if index and BUY_BUTTON not in index:
        problems.append("index.html lacks the buy button launch points at the payment link")
    for page in ("terms.html", "privacy.html"):
        if index and page in files and f'href="{page}"' not in index:
            problems.append(f"index.html does not link {page}")
    return problems


def visible_text(html: str) -> str:
    """The text of an HTML page without tags (for checking what a visitor reads)."""
    text = re.sub(r"<(script|style|head)[^>]*>.*?</\1>", " ", html, flags=re.DOTALL | re.IGNORECASE)
    text = re.sub(r"<[^>]+>", " ", text)
    from html import unescape

    return " ".join(unescape(text).split())
