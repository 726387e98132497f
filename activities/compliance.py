"""Compliance rule checks over a project's public deliverables (pure: no I/O, deterministic).

Before anything goes public the rules always run (a model may add findings of its own):
- the price agrees across the site, the pricing deliverable and the Stripe price;
- terms and privacy pages exist and index.html links to both;
- no forbidden claims (a configurable list: guarantees, health or financial promises),
  case-insensitive, on word boundaries;
- no personal data or secrets (email addresses other than the allowed contacts; API keys and
  tokens such as sk_live_, ghp_, xoxb-, AKIA…);
- no external resources (absolute or protocol-relative src, stylesheet/icon hrefs, CSS
  @import and url(http…)): the site is served under a strict CSP and must not leak visitors
  to third parties. Links a visitor follows (<a href>) are not resources.

`check_site` runs them all over the site's files; the single checks are public too. Findings
are small, bounded pydantic models that can cross into a workflow. Secrets are never echoed.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from html import unescape
from html.parser import HTMLParser
from typing import Literal

from pydantic import BaseModel, Field

Severity = Literal["blocking", "warning"]
MAX_FINDINGS = 100


class Finding(BaseModel):
    """One compliance finding: what rule (code), how bad, in which file, and what to change."""

    code: str = Field(max_length=64)
    severity: Severity
    file: str = Field(default="", max_length=300)
    message: str = Field(max_length=500)


def has_blocking(findings: Iterable[Finding]) -> bool:
    return any(f.severity == "blocking" for f in findings)


def _finding(code: str, severity: Severity, file: str, message: str) -> Finding:
    return Finding(code=code, severity=severity, file=file[:300], message=message[:500])


# --- reading HTML ------------------------------------------------------------------------------

_TEXT_ATTRS = {"alt", "title", "aria-label", "placeholder"}
_RESOURCE_ATTRS = {"src", "srcset", "poster", "data", "background"}
# <link rel=...> that only describe a page; every other rel loads something.
_DESCRIPTIVE_RELS = {"canonical", "alternate", "author", "license", "me", "help", "next", "prev", "search", "bookmark"}


class _Page(HTMLParser):
    """Visible text, link targets, resource URLs and CSS of one HTML document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.links: list[str] = []
        self.resources: list[tuple[str, str]] = []  # (tag, url)
        self.css: list[str] = []
        self._skip = 0  # inside <script> or <style>
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "") for k, v in attrs}
        if tag in ("script", "style"):
            self._skip += 1
            self._in_style = tag == "style"
        for name, value in values.items():
            if name in _TEXT_ATTRS:
                self.text.append(value)
            if name in _RESOURCE_ATTRS and value:
                urls = [part.strip().split(" ")[0] for part in value.split(",")] if name == "srcset" else [value]
                self.resources += [(tag, u) for u in urls if u]
            if name == "style" and value:
                self.css.append(value)
        if tag == "meta" and values.get("content") and (values.get("name") or values.get("property")):
            self.text.append(values["content"])
        if tag in ("a", "area") and values.get("href"):
            self.links.append(values["href"])
        if tag == "link" and values.get("href"):
            rels = set(values.get("rel", "").lower().split())
            if not rels or not rels <= _DESCRIPTIVE_RELS:
                self.resources.append((tag, values["href"]))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in ("script", "style"):
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.css.append(data)
        elif not self._skip:
            self.text.append(data)

    @property
    def visible(self) -> str:
        return " ".join(" ".join(self.text).split())


def _parse(html: str) -> _Page:
    page = _Page()
    try:
        page.feed(html)
        page.close()
    except Exception:  # HTMLParser is lenient; a pathological document still yields what it read
        pass
    return page


def _is_html(name: str) -> bool:
    return name.lower().endswith((".html", ".htm"))


def _is_text(name: str) -> bool:
    return name.lower().endswith((".md", ".markdown", ".txt", ".js", ".json", ".xml", ".svg", ".csv", ".yml", ".yaml"))


def site_root(files: Mapping[str, str]) -> str | None:
    """The folder that holds the site's index.html ("" or e.g. "site/"); None when there is none."""
    candidates = [p for p in files if posixpath.basename(p).lower() == "index.html"]
    if not candidates:
        return None
    best = min(candidates, key=lambda p: (p.count("/"), p))
    return best[: -len("index.html")]


# --- prices ----------------------------------------------------------------------------------

_MONEY = re.compile(
    r"(?:US\s?)?\$\s?(\d{1,3}(?:,\d{3})+|\d+)(\.\d{1,2})?(?!\d)"
    r"|(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(\.\d{1,2})?\s?(?:USD|US dollars|dollars)\b",
    re.IGNORECASE,
)
_PLAIN_AMOUNT = re.compile(
    r"^\s*(?:USD\s*|US\s?)?\$?\s*(\d{1,3}(?:,\d{3})+|\d+)(\.\d{1,2})?\s*(?:USD)?\s*$", re.IGNORECASE
)


def _decimal(whole: str, fraction: str | None) -> Decimal | None:
    try:
        return Decimal(whole.replace(",", "") + (fraction or "")).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None


def amounts(text: str) -> list[Decimal]:
    """Dollar amounts written in a text ("$29", "$1,299.00", "29 USD"), in order, distinct."""
    found: list[Decimal] = []
    for m in _MONEY.finditer(text):
        value = _decimal(m.group(1), m.group(2)) if m.group(1) else _decimal(m.group(3), m.group(4))
        if value is not None and value not in found:
            found.append(value)
    return found


def parse_price(value: str | None) -> Decimal | None:
    """ "29", "$29", "29.00", "USD 29" → Decimal("29.00"); None when absent or unreadable. A Stripe
    price is passed in major units (unit_amount / 100)."""
    if not value:
        return None
    m = _PLAIN_AMOUNT.match(value)
    if m:
        return _decimal(m.group(1), m.group(2))
    found = amounts(value)
    return found[0] if found else None


def _usd(value: Decimal) -> str:
    return f"${value:,.2f}".replace(".00", "")


def check_prices(
    pages: Mapping[str, str], *, price: str | None, pricing_text: str | None, stripe_price: str | None
) -> list[Finding]:
    """Every page that names a price names the offer's (else Stripe's, else the pricing
    deliverable's), and the pricing deliverable and the Stripe price say the same.
    `pages`: HTML name → visible text."""
    stripe = parse_price(stripe_price)
    pricing_amounts = amounts(pricing_text or "")
    expected = parse_price(price) or stripe or (pricing_amounts[0] if pricing_amounts else None)
    if expected is None:
        return [_finding("price_unknown", "warning", "", "No price to compare: no offer, Stripe or pricing price.")]
    out: list[Finding] = []
    shown: dict[str, list[Decimal]] = {name: amounts(text) for name, text in pages.items()}
    for name, found in shown.items():
        others = [a for a in found if a != expected]
        listed = ", ".join(_usd(a) for a in others[:5])
        if found and expected not in found:
            out.append(
                _finding(
                    "price_mismatch_site", "blocking", name, f"This page shows {listed}; the price is {_usd(expected)}."
                )
            )
        elif others:
            out.append(
                _finding(
                    "price_other_amount",
                    "warning",
                    name,
                    f"Besides {_usd(expected)} this page shows {listed}: make sure no visitor reads it as the price.",
                )
            )
    if not any(shown.values()):
        out.append(
            _finding("price_not_on_site", "warning", "", f"No page of the site shows the price ({_usd(expected)}).")
        )
    if pricing_text is not None and expected not in pricing_amounts:
        seen = ", ".join(_usd(a) for a in pricing_amounts[:5]) or "no price"
        out.append(
            _finding(
                "price_mismatch_pricing",
                "blocking",
                "",
                f"The pricing deliverable says {seen}; the price is {_usd(expected)}.",
            )
        )
    if stripe_price is not None and stripe != expected:
        out.append(
            _finding(
                "price_mismatch_stripe",
                "blocking",
                "",
                f"The Stripe price is {_usd(stripe) if stripe else repr(stripe_price[:40])}; "
                f"the price is {_usd(expected)}.",
            )
        )
    return out


# --- legal pages -----------------------------------------------------------------------------

_LEGAL = {
    "terms": re.compile(r"terms|conditions|\btos\b", re.IGNORECASE),
    "privacy": re.compile(r"privacy", re.IGNORECASE),
}


def _resolve(base_dir: str, href: str) -> str | None:
    """A same-site href as a path relative to the site root; None for other sites, mailto: etc."""
    href = href.strip()
    if not href or href.startswith(("#", "{{")) or re.match(r"^[a-z][a-z0-9+.-]*:|^//", href, re.IGNORECASE):
        return None
    path = re.split(r"[?#]", href, maxsplit=1)[0]
    if not path:
        return None
    joined = posixpath.normpath(path.lstrip("/") if path.startswith("/") else posixpath.join(base_dir, path))
    return None if joined.startswith("..") else joined.removeprefix("./")


def check_legal_pages(files: Mapping[str, str]) -> list[Finding]:
    """Terms and privacy pages exist in the site and its index.html links to both."""
    root = site_root(files)
    if root is None:
        return [_finding("site_missing_index", "blocking", "", "The site has no index.html.")]
    index_name = root + "index.html"
    rel_pages = {name[len(root) :]: name for name in files if name.startswith(root) and _is_html(name)}
    linked = {_resolve("", href) for href in _parse(files[index_name]).links} - {None}
    out: list[Finding] = []
    for kind, pattern in _LEGAL.items():
        pages = sorted(rel for rel in rel_pages if pattern.search(posixpath.basename(rel)))
        if not pages:
            out.append(
                _finding(f"{kind}_missing", "blocking", "", f"The site has no {kind} page (e.g. {root}{kind}.html).")
            )
        elif not linked & set(pages):
            out.append(
                _finding(
                    f"{kind}_not_linked",
                    "blocking",
                    index_name,
                    f"index.html does not link to the {kind} page ({rel_pages[pages[0]]}).",
                )
            )
    return out


# --- forbidden claims ------------------------------------------------------------------------


def claim_pattern(phrase: str) -> re.Pattern[str]:
    """Case-insensitive, on word boundaries; a space or a hyphen between words matches either."""
    words = [re.escape(w) for w in re.split(r"[\s-]+", phrase.strip()) if w]
    return re.compile(r"(?<!\w)" + r"[\s-]+".join(words) + r"(?!\w)", re.IGNORECASE)


def _excerpt(text: str, start: int, end: int, width: int = 40) -> str:
    left = text[max(0, start - width) : start]
    right = text[end : end + width]
    return ("…" if start > width else "") + left + text[start:end] + right + ("…" if end + width < len(text) else "")


def check_claims(name: str, text: str, forbidden: Sequence[str]) -> list[Finding]:
    """Each forbidden claim the text makes, once per claim (blocking)."""
    out = []
    for phrase in forbidden:
        if not phrase.strip():
            continue
        m = claim_pattern(phrase).search(text)
        if m:
            out.append(
                _finding(
                    "forbidden_claim",
                    "blocking",
                    name,
                    f'Forbidden claim "{phrase.strip()[:60]}": "{_excerpt(text, m.start(), m.end())}"',
                )
            )
    return out


# --- personal data and secrets ---------------------------------------------------------------

_SECRETS: dict[str, re.Pattern[str]] = {
    "Stripe secret key": re.compile(r"\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{8,}"),
    "Stripe webhook secret": re.compile(r"\bwhsec_[0-9A-Za-z]{8,}"),
    "GitHub token": re.compile(r"\b(?:gh[pousr]_[0-9A-Za-z]{20,}|github_pat_[0-9A-Za-z_]{20,})"),
    "Slack token": re.compile(r"\bxox[abposr]-[0-9A-Za-z-]{8,}"),
    "Slack webhook URL": re.compile(r"hooks\.slack\.com/services/[A-Za-z0-9/_-]{8,}"),
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "OpenAI API key": re.compile(r"\bsk-(?:proj-|svcacct-)?[A-Za-z0-9_-]{20,}"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}"),
    "private key": re.compile(r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----"),
    "JSON web token": re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
}
_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})\b")
# RFC 2606 documentation domains and asset names that look like addresses ("logo@2x.png").
_RESERVED_DOMAINS = ("example.com", "example.org", "example.net")
_ASSET_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".avif", ".css", ".js", ".ico")


def _redact(secret: str) -> str:
    return f"{secret[:4]}… ({len(secret)} characters)"


def check_secrets(name: str, text: str, allowed_emails: Sequence[str] = ()) -> list[Finding]:
    """Keys and tokens (never echoed), and email addresses other than the allowed contacts."""
    out = []
    for what, pattern in _SECRETS.items():
        m = pattern.search(text)
        if m:
            out.append(
                _finding(
                    "secret", "blocking", name, f"A {what} is published: {_redact(m.group(0))}. Remove and rotate it."
                )
            )
    allowed = {e.strip().lower() for e in allowed_emails if e.strip()}
    reported: set[str] = set()
    for m in _EMAIL.finditer(text):
        address, domain = m.group(0).lower(), m.group(1).lower()
        if address in allowed or address in reported or domain.endswith(_ASSET_SUFFIXES):
            continue
        if any(domain == d or domain.endswith("." + d) for d in _RESERVED_DOMAINS):
            continue
        reported.add(address)
        out.append(
            _finding(
                "personal_data_email",
                "blocking",
                name,
                f"The email address {address[:120]} is published; only the contact address may appear.",
            )
        )
    return out


# --- external resources ----------------------------------------------------------------------

_EXTERNAL = re.compile(r"^\s*(?:https?:)?//", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"@import\s+(?:url\(\s*)?['\"]?\s*((?:https?:)?//[^'\")\s;]+)", re.IGNORECASE)
_CSS_URL = re.compile(r"url\(\s*['\"]?\s*((?:https?:)?//[^'\")\s]+)", re.IGNORECASE)


def _host(url: str) -> str:
    return re.sub(r"^\s*(?:https?:)?//", "", url).split("/", 1)[0][:100]


def check_css(name: str, css: str) -> list[Finding]:
    """@import and url(...) of other sites in a stylesheet or style attribute (blocking)."""
    out = []
    seen: set[str] = set()
    for pattern, what in ((_CSS_IMPORT, "@import"), (_CSS_URL, "url()")):
        for m in pattern.finditer(css):
            url = m.group(1)
            if url in seen:  # `@import url(...)` matches both patterns
                continue
            seen.add(url)
            out.append(
                _finding(
                    "external_resource",
                    "blocking",
                    name,
                    f"CSS {what} loads {url[:150]} from {_host(url)}: serve it from the site.",
                )
            )
    return out


def check_external_resources(name: str, html: str) -> list[Finding]:
    """Scripts, images, stylesheets, fonts, frames… loaded from other sites (blocking)."""
    page = _parse(html)
    out = [
        _finding(
            "external_resource",
            "blocking",
            name,
            f"<{tag}> loads {url[:150]} from {_host(url)}: serve it from the site.",
        )
        for tag, url in page.resources
        if _EXTERNAL.match(url)
    ]
    for css in page.css:
        out += check_css(name, css)
    return out


# --- everything ------------------------------------------------------------------------------


def check_document(
    name: str, text: str, *, forbidden: Sequence[str], allowed_emails: Sequence[str] = ()
) -> list[Finding]:
    """Claims, personal data and secrets in one public non-site deliverable (markdown, text)."""
    return check_claims(name, text, forbidden) + check_secrets(name, text, allowed_emails)


def check_site(
    files: Mapping[str, str],
    *,
    price: str | None,
    pricing_text: str | None,
    stripe_price: str | None,
    forbidden: Sequence[str],
    allowed_emails: Sequence[str] = (),
) -> list[Finding]:
    """Every rule over a site's files (path → content; the site is the folder of its index.html,
    other files are public too and checked for claims, personal data and secrets). Blocking
    findings first; at most MAX_FINDINGS. An empty list: nothing to fix."""
    names = sorted(files)
    root = site_root(files)
    out = check_legal_pages(files)
    pages = {n: _parse(files[n]) for n in names if _is_html(n)}
    site_pages = {n: p.visible for n, p in pages.items() if root is not None and n.startswith(root)}
    if root is not None:
        out += check_prices(site_pages, price=price, pricing_text=pricing_text, stripe_price=stripe_price)
    for n in names:
        content = files[n]
        if n in pages:
            out += check_claims(n, pages[n].visible, forbidden)
            out += check_external_resources(n, content)
        elif n.lower().endswith(".css"):
            out += check_css(n, content)
        elif _is_text(n):
            out += check_claims(n, unescape(content), forbidden)
        # Secrets and addresses hide anywhere: comments, scripts, attributes.
        out += check_secrets(n, content, allowed_emails)
    out.sort(key=lambda f: f.severity != "blocking")  # stable: rule order within a severity
    return out[:MAX_FINDINGS]
