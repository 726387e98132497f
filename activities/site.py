"""The project's website as files: what a website deliverable is (the file set, the buy button),
the checks a draft must pass (the producers' and the rubric's), finding it in a deliverable,
writing the payment link into it at launch, and checking what ships (no template placeholder
left, every local link resolves).

Pure functions, no I/O: the launch activity, the API's preview and export, and the publishers use
them alike, so what a person previews is what launch ships.

The contract with the producers: the web deliverable is a Document whose `files` hold
`index.html` (and `terms.html`, `privacy.html`, `style.css`), and whose buy button is exactly
`NOT_LIVE_BUY`. Older drafts keep the site under `site/` and carry a `{{PAYMENT_LINK}}`
placeholder; both are handled here.
"""

from __future__ import annotations

import html
import posixpath
import re
from collections.abc import Mapping
from html.parser import HTMLParser
from posixpath import dirname, normpath

# The launched website is stored as a Document of this kind (a new version when it changes).
SITE_KIND = "site"

NOT_LIVE_HREF = "#payments-not-live"
NOT_LIVE_TEXT = "Payments are not live yet"
NOT_LIVE_BUY = f'<a id="buy" class="buy" href="{NOT_LIVE_HREF}">{NOT_LIVE_TEXT}</a>'
LIVE_TEXT = "Buy now"

# Where a deliverable may keep its site: at the root of its files, or in one of these folders.
SITE_FOLDERS = ("", "site/", "docs/", "public/")
HTML_SUFFIXES = (".html", ".htm")

# Template placeholders a model or a template may leave: {{ NAME }}, {% tag %}, [[NAME]].
PLACEHOLDER = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\[\[\s*[A-Z][A-Z0-9_ ]*\]\]", re.DOTALL)
_PAYMENT_WORDS = re.compile(r"pay|checkout|buy|stripe|purchase|order", re.IGNORECASE)
# An <a> element with id="buy" (any attribute order, any quoting), up to its closing tag.
_BUY_ELEMENT = re.compile(
    r"<a\b(?=[^>]*(?<![\w-])id\s*=\s*([\"']?)buy\1[\s/>])[^>]*>.*?</a\s*>", re.IGNORECASE | re.DOTALL
)
# An <a> element whose href is a placeholder, with the placeholder captured.
_PLACEHOLDER_LINK = re.compile(
    r"<a\b[^>]*\bhref\s*=\s*[\"']?\s*(\{\{.*?\}\}|\{%.*?%\}|\[\[.*?\]\])\s*[\"']?[^>]*>(.*?)</a\s*>",
    re.IGNORECASE | re.DOTALL,
)
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_CSS_URL = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)|@import\s+(['"])(.*?)\3""", re.IGNORECASE)
_LINK_ATTRS = {"href", "src", "action", "poster", "data"}


def safe_path(path: str) -> str | None:
    """A file path inside the site, normalised; None for anything that could leave it
    (absolute, `..`, backslashes, empty segments) or touch a git directory."""
    if not path or "\\" in path or "\0" in path or path.startswith("/"):
        return None
    parts = path.split("/")
    if any(p in ("", ".", "..") or p.lower() == ".git" for p in parts):
        return None
    return "/".join(parts)


def site_files(files: Mapping[str, str] | None) -> dict[str, str] | None:
    """The site inside a deliverable's files (paths relative to the site root), or None when it
    holds no `index.html`."""
    if not files:
        return None
    for folder in SITE_FOLDERS:
        if folder + "index.html" in files:
            out: dict[str, str] = {}
            for path, content in files.items():
                if path.startswith(folder):
                    rel = safe_path(path[len(folder) :])
                    if rel is not None:
                        out[rel] = content
            return out
    return None


def site_source_paths(files: Mapping[str, str] | None) -> set[str]:
    """The keys of a deliverable's files that make up its site (to not ship them twice)."""
    if not files:
        return set()
    for folder in SITE_FOLDERS:
        if folder + "index.html" in files:
            return {p for p in files if p.startswith(folder)}
    return set()


def buy_element(payment_link: str | None, *, with_id: bool = True) -> str:
    """The buy button: the payment link when there is one, else a clear "not live" notice."""
    ident = 'id="buy" ' if with_id else ""
    if payment_link:
        return f'<a {ident}class="buy" href="{html.escape(payment_link, quote=True)}">{LIVE_TEXT}</a>'
    return f'<a {ident}class="buy" href="{NOT_LIVE_HREF}">{NOT_LIVE_TEXT}</a>'


def _checked_link(payment_link: str | None) -> str | None:
    if payment_link is None:
        return None
    link = payment_link.strip()
    if not re.match(r"^https?://[^\s\"'<>]+$", link):
        raise ValueError(f"not a payment link: {payment_link[:100]!r}")
    return link


def scrub_html(text: str, payment_link: str | None = None) -> str:
    """Replace the buy element and every placeholder link; remove any placeholder left.

    A link whose target is a payment placeholder becomes the buy button; one whose target is any
    other placeholder keeps its text and loses the link (it could only be dead)."""
    link = _checked_link(payment_link)
    seen_buy = False

    def replace_buy(_m: re.Match[str]) -> str:
        nonlocal seen_buy
        element = buy_element(link, with_id=not seen_buy)
        seen_buy = True
        return element

    text = _BUY_ELEMENT.sub(replace_buy, text)

    def replace_placeholder_link(m: re.Match[str]) -> str:
        nonlocal seen_buy
        if _PAYMENT_WORDS.search(m.group(1)):
            element = buy_element(link, with_id=not seen_buy)
            seen_buy = True
            return element
        return f"<span>{m.group(2)}</span>"

    text = _PLACEHOLDER_LINK.sub(replace_placeholder_link, text)
    return PLACEHOLDER.sub("", text)


def scrub_text(text: str, payment_link: str | None = None) -> str:
    """Any text shipped with the site (markdown, CSS, READMEs): a payment placeholder becomes the
    payment link (or says payments are not live yet); any other placeholder is removed."""
    link = _checked_link(payment_link)

    def replace(m: re.Match[str]) -> str:
        if _PAYMENT_WORDS.search(m.group(0)):
            return link or "(payments are not live yet)"
        return ""

    return PLACEHOLDER.sub(replace, text)


def scrub(path: str, content: str, payment_link: str | None = None) -> str:
    """`scrub_html` for HTML files, `scrub_text` for the rest."""
    if path.lower().endswith(HTML_SUFFIXES):
        return scrub_html(content, payment_link)
    return scrub_text(content, payment_link)


def finalize_site(files: Mapping[str, str], payment_link: str | None) -> dict[str, str]:
    """The site as it goes live: the buy button carries `payment_link` (or says clearly that
    payments are not live yet), no placeholder is left in any file, and `index.html` has exactly
    one buy button even when the draft had none. Deterministic: same input, same output."""
    link = _checked_link(payment_link)
    out = {path: scrub(path, content, link) for path, content in files.items()}
    index = out.get("index.html")
    if index is not None and not _BUY_ELEMENT.search(index):
        element = f'<p class="buy-row">{buy_element(link)}</p>\n'
        for marker in ("</main>", "</body>"):
            at = index.lower().rfind(marker)
            if at != -1:
                out["index.html"] = index[:at] + element + index[at:]
                break
        else:
            out["index.html"] = index + element
    return out


def placeholders(files: Mapping[str, str]) -> list[str]:
    """Every template placeholder left, as `path: placeholder`."""
    return [
        f"{path}: {m.group(0)[:60]}" for path, content in sorted(files.items()) for m in PLACEHOLDER.finditer(content)
    ]


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.buy: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "a" and named.get("id") == "buy" and named.get("href"):
            self.buy.append(named["href"] or "")
        for name, value in attrs:
            if name in _LINK_ATTRS and value is not None:
                self.links.append(value)
            elif name == "srcset" and value:
                self.links += [part.strip().split(" ")[0] for part in value.split(",") if part.strip()]


def local_links(path: str, content: str) -> list[str]:
    """The link targets one file names (HTML attributes, CSS url() and @import)."""
    if path.lower().endswith(HTML_SUFFIXES):
        parser = _Links()
        parser.feed(content)
        parser.close()
        found = parser.links
    elif path.lower().endswith(".css"):
        found = [m.group(2) or m.group(4) or "" for m in _CSS_URL.finditer(content)]
    else:
        return []
    return [link.strip() for link in found if _is_local(link.strip())]


def payment_links(files: Mapping[str, str]) -> list[str]:
    """The targets of the live buy buttons in the site's HTML files (the "not live" one left out),
    in file order, each once."""
    found: list[str] = []
    for path in sorted(files):
        if path.lower().endswith(HTML_SUFFIXES):
            parser = _Links()
            parser.feed(files[path])
            parser.close()
            found += [href for href in parser.buy if href != NOT_LIVE_HREF and href not in found]
    return found


def _is_local(link: str) -> bool:
    return bool(link) and not link.startswith(("#", "//")) and not _SCHEME.match(link)


def broken_local_links(files: Mapping[str, str]) -> list[str]:
    """Every local link that does not resolve to a file of the site, as `path → target`.

    Relative links resolve from the linking file's folder; a folder means its index.html.
    Root-relative links (`/x`) count as broken: the site is served under a path (the preview, a
    GitHub Pages project site), where they would leave it."""
    broken: list[str] = []
    for path in sorted(files):
        folder = posixpath.dirname(path)
        for link in local_links(path, files[path]):
            target = re.split(r"[?#]", link, maxsplit=1)[0]
            if not target:
                continue
            if target.startswith("/"):
                broken.append(f"{path} → {link}")
                continue
            resolved = posixpath.normpath(posixpath.join(folder, target))
            if link.split("#")[0].split("?")[0].endswith("/") or resolved == ".":
                resolved = posixpath.join(resolved, "index.html") if resolved != "." else "index.html"
            if resolved.startswith("../") or resolved == ".." or resolved not in files:
                broken.append(f"{path} → {link}")
    return broken


# --- the website deliverable: what producers write and the rubric checks ---------------------

# The files of a project's website (Document.files of the web task's deliverable).
SITE_FILES = ("index.html", "terms.html", "privacy.html", "style.css")
# Exactly this element on index.html: launch replaces it with the real payment link (or leaves
# it, saying clearly that payments are not live yet).
BUY_BUTTON = NOT_LIVE_BUY
# Roles whose code deliverable for a selling project is the website.
WEB_ROLES = ("web-developer", "frontend-engineer")

_PLACEHOLDER = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
_CSS_REF = re.compile(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)|@import\s+['\"]([^'\"]+)['\"]", re.IGNORECASE)
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
                for found in _CSS_REF.finditer(value):
                    self.refs.append((tag, "style", (found.group(1) or found.group(2)).strip()))


def references(path: str, text: str) -> list[str]:
    """Every URL a file refers to: href/src/… attributes and CSS url()/@import."""
    refs: list[str] = []
    if path.endswith((".html", ".htm")):
        parser = _Refs()
        parser.feed(text)
        refs += [value for _, _, value in parser.refs]
        for block in re.findall(r"<style[^>]*>(.*?)</style>", text, re.DOTALL | re.IGNORECASE):
            refs += [(m.group(1) or m.group(2)).strip() for m in _CSS_REF.finditer(block)]
    elif path.endswith(".css"):
        refs += [(m.group(1) or m.group(2)).strip() for m in _CSS_REF.finditer(text)]
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
