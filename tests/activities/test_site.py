"""The website helpers: picking the site out of a deliverable, writing the payment link in, and
the placeholder and local-link checks launch relies on."""

from __future__ import annotations

import pytest

from activities.site import (
    NOT_LIVE_BUY,
    broken_local_links,
    finalize_site,
    payment_links,
    placeholders,
    safe_path,
    scrub,
    scrub_text,
    site_files,
    site_source_paths,
)
from tests.site_files import LEGACY_DRAFT, SITE

LINK = "https://buy.stripe.com/test_28o5kq?prefilled=1&x=2"


def test_the_contract_site_is_found_and_passes_the_checks() -> None:
    assert NOT_LIVE_BUY == '<a id="buy" class="buy" href="#payments-not-live">Payments are not live yet</a>'
    assert site_files(SITE) == SITE
    assert site_source_paths(SITE) == set(SITE)
    assert broken_local_links(SITE) == []
    assert placeholders(SITE) == []
    assert site_files({"README.md": "no site"}) is None and site_files(None) is None


def test_payment_link_replaces_the_buy_button() -> None:
    live = finalize_site(SITE, LINK)
    assert NOT_LIVE_BUY not in live["index.html"]
    assert (
        '<a id="buy" class="buy" href="https://buy.stripe.com/test_28o5kq?prefilled=1&amp;x=2">Buy now</a>'
        in (live["index.html"])
    )
    assert payment_links(live) == [LINK]
    assert live["terms.html"] == SITE["terms.html"] and live["style.css"] == SITE["style.css"]
    assert broken_local_links(live) == [] and placeholders(live) == []
    # Without Stripe the button keeps saying so; the same input gives the same site.
    assert finalize_site(SITE, None) == SITE
    assert payment_links(SITE) == []
    # Finalizing the live site again changes nothing.
    assert finalize_site(live, LINK) == live


def test_a_legacy_draft_loses_its_placeholder_and_reports_dead_links() -> None:
    site = site_files(LEGACY_DRAFT)
    assert site == {"index.html": LEGACY_DRAFT["site/index.html"]}
    assert placeholders(site) == ["index.html: {{PAYMENT_LINK}}"]
    for link in (None, LINK):
        done = finalize_site(site, link)
        assert placeholders(done) == []
        assert "{{" not in done["index.html"] and "Buy Mugs" not in done["index.html"]
        assert done["index.html"].count('id="buy"') == 1
        assert broken_local_links(done) == ["index.html → terms.html", "index.html → privacy.html"]
    assert NOT_LIVE_BUY in finalize_site(site, None)["index.html"]


def test_a_site_without_a_buy_button_gets_one_and_other_placeholders_go() -> None:
    site = {"index.html": "<body><main><p>{{ PRICE }} [[AUDIENCE]]</p><a href='{{ FAQ_URL }}'>FAQ</a></main></body>"}
    done = finalize_site(site, LINK)
    assert placeholders(done) == []
    assert "<span>FAQ</span>" in done["index.html"]
    assert done["index.html"].endswith(
        '<p class="buy-row"><a id="buy" class="buy" href="'
        + LINK.replace("&", "&amp;")
        + '">Buy now</a></p>\n</main></body>'
    )


def test_local_link_checker() -> None:
    files = {
        "index.html": (
            '<a href="about/">About</a><a href="#top">top</a><a href="https://example.com/x">ext</a>'
            '<a href="mailto:a@b.c">mail</a><img src="img/logo.svg"><a href="/abs.html">abs</a>'
            '<a href="../outside.html">out</a><a href="terms.html?x=1#s">terms</a><a href="//cdn.example/x.js">cdn</a>'
        ),
        "about/index.html": '<a href="../index.html">back</a><a href="../missing.html">gone</a>',
        "terms.html": "",
        "style.css": "@import 'base.css'; body { background: url(\"img/bg.png\") }",
    }
    assert broken_local_links(files) == [
        "about/index.html → ../missing.html",
        "index.html → img/logo.svg",
        "index.html → /abs.html",
        "index.html → ../outside.html",
        "style.css → base.css",
        "style.css → img/bg.png",
    ]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("index.html", "index.html"),
        ("a/b.css", "a/b.css"),
        ("../etc/passwd", None),
        ("/etc/passwd", None),
        ("a/../../x", None),
        ("a\\b", None),
        (".git/config", None),
        ("x/.GIT/hooks/post-commit", None),
        ("a//b", None),
        ("", None),
    ],
)
def test_safe_path(path: str, expected: str | None) -> None:
    assert safe_path(path) == expected


def test_a_bad_payment_link_is_refused() -> None:
    with pytest.raises(ValueError, match="not a payment link"):
        finalize_site(SITE, 'javascript:alert(1)" onclick="x')


def test_text_shipped_with_the_site_loses_its_placeholders() -> None:
    text = "The button points to `{{PAYMENT_LINK}}`; price {{ PRICE }}; {% if x %}."
    assert scrub_text(text, None) == "The button points to `(payments are not live yet)`; price ; ."
    assert scrub_text(text, LINK) == f"The button points to `{LINK}`; price ; ."
    assert scrub("notes.md", text) == scrub_text(text) and placeholders({"notes.md": scrub_text(text)}) == []
