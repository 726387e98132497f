"""Compliance rule checks over realistic site files (pure functions, no I/O)."""

from __future__ import annotations

import pytest

from activities.compliance import (
    Finding,
    amounts,
    check_document,
    check_site,
    has_blocking,
    parse_price,
)
from boardroom.settings import DEFAULT_FORBIDDEN_CLAIMS, load_settings

INDEX = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Mugly | Handmade stoneware mugs</title>
  <meta name="description" content="Handmade stoneware mugs, fired in small batches.">
  <link rel="stylesheet" href="styles.css">
  <link rel="icon" href="/favicon.ico">
  <link rel="canonical" href="https://mugly.shop/">
</head>
<body>
  <header><img src="img/logo@2x.png" alt="Mugly logo"></header>
  <main>
    <h1>Mugly</h1>
    <p>Handmade stoneware mugs with secure checkout and free returns within 14 days.</p>
    <p class="price"><strong>$29</strong> per mug, shipped in 3–5 business days.</p>
    <a href="{{PAYMENT_LINK}}" role="button">Buy a mug</a>
    <p>Questions? Write to <a href="mailto:hello@mugly.shop">hello@mugly.shop</a>.</p>
    <p>Follow us on <a href="https://instagram.com/mugly">Instagram</a>.</p>
  </main>
  <footer><a href="terms.html">Terms</a> · <a href="./privacy.html#cookies">Privacy</a></footer>
</body>
</html>
"""
TERMS = """<!doctype html><html lang="en"><head><title>Terms</title><link rel="stylesheet" href="styles.css"></head>
<body><h1>Terms of sale</h1><p>Each mug costs $29. Returns within 14 days for a full refund.</p>
<p><a href="index.html">Back</a></p></body></html>
"""
PRIVACY = """<!doctype html><html lang="en"><head><title>Privacy</title></head>
<body><h1>Privacy</h1><p>We keep your address only to ship your order. No trackers, no cookies.</p></body></html>
"""
CSS = """body { font: 16px/1.5 system-ui, sans-serif; background: url("img/clay.jpg"); }
.price strong { color: #7a3b12; }
"""
README = "# Mugly\n\nThe Mugly storefront. Preview with `python -m http.server -d site`.\n"
PRICING = "## Pricing\n\nLaunch price: **$29** per mug (one-off), 14-day refunds. Competitors sell at $35–$45."


def site(**changes: str | None) -> dict[str, str]:
    files = {
        "site/index.html": INDEX,
        "site/terms.html": TERMS,
        "site/privacy.html": PRIVACY,
        "site/styles.css": CSS,
        "README.md": README,
    }
    for name, content in changes.items():
        path = name.replace("__", "/").replace("_html", ".html").replace("_css", ".css").replace("_md", ".md")
        if content is None:
            files.pop(path, None)
        else:
            files[path] = content
    return files


def check(files: dict[str, str], **kw: object) -> list[Finding]:
    args: dict[str, object] = {
        "price": "29",
        "pricing_text": PRICING,
        "stripe_price": "29.00",
        "forbidden": list(DEFAULT_FORBIDDEN_CLAIMS),
        "allowed_emails": ["hello@mugly.shop"],
    }
    args.update(kw)
    return check_site(files, **args)  # type: ignore[arg-type]


def codes(findings: list[Finding]) -> list[tuple[str, str, str]]:
    return [(f.code, f.severity, f.file) for f in findings]


def test_a_clean_site_has_no_findings() -> None:
    findings = check(site())
    assert findings == []
    assert not has_blocking(findings)


def test_guaranteed_results_is_a_blocking_claim() -> None:
    index = INDEX.replace("Handmade stoneware mugs with", "Guaranteed Results: handmade stoneware mugs with")
    findings = check(site(site__index_html=index))
    assert codes(findings) == [("forbidden_claim", "blocking", "site/index.html")]
    assert '"guaranteed results"' in findings[0].message and "Guaranteed Results: handmade" in findings[0].message
    assert has_blocking(findings)


@pytest.mark.parametrize(
    ("text", "claim"),
    [
        ("Try it risk-free for a month.", "risk-free"),
        ("Try it RISK FREE for a month.", "risk-free"),
        ("Our tea will cure your insomnia.", "cure"),
        ("100% guaranteed to impress.", "100% guaranteed"),
        ("Get rich selling mugs!", "get rich"),
    ],
)
def test_forbidden_claims_case_insensitive(text: str, claim: str) -> None:
    findings = check(site(site__terms_html=TERMS.replace("Returns within", f"{text} Returns within")))
    assert [(f.code, f.file) for f in findings] == [("forbidden_claim", "site/terms.html")]
    assert f'"{claim}"' in findings[0].message


def test_claims_match_on_word_boundaries_only() -> None:
    # "secure" holds "cure", "procured" holds "cure" too, "risk-freely" is not "risk-free".
    index = INDEX.replace("secure checkout", "secure checkout of procured clay, priced risk-freely")
    assert check(site(site__index_html=index)) == []


def test_the_claim_list_is_a_setting() -> None:
    settings = load_settings(forbidden_claims="handmade, free returns")
    assert settings.forbidden_claim_list == ["handmade", "free returns"]
    found = check(site(), forbidden=settings.forbidden_claim_list)
    assert {(f.code, f.file) for f in found} == {("forbidden_claim", "site/index.html")}
    assert len(found) == 2  # one finding per claim, not per occurrence
    assert "cure" in load_settings().forbidden_claim_list


def test_claims_in_public_markdown_and_meta_are_found() -> None:
    readme = README + "\nMugly mugs: guaranteed results for your morning.\n"
    index = INDEX.replace('content="Handmade stoneware mugs, fired', 'content="Clinically proven mugs, fired')
    findings = check(site(README_md=readme, site__index_html=index))
    assert sorted((f.code, f.file) for f in findings) == [
        ("forbidden_claim", "README.md"),
        ("forbidden_claim", "site/index.html"),
    ]
    doc = check_document("pricing.md", "A risk-free trial", forbidden=DEFAULT_FORBIDDEN_CLAIMS)
    assert [f.code for f in doc] == ["forbidden_claim"]


def test_a_price_mismatch_on_the_site_is_found() -> None:
    index = INDEX.replace("<strong>$29</strong>", "<strong>$39</strong>")
    findings = check(site(site__index_html=index))
    assert codes(findings) == [("price_mismatch_site", "blocking", "site/index.html")]
    assert "$39" in findings[0].message and "the price is $29" in findings[0].message
    # Another page than the landing page disagreeing is found just as well.
    terms = check(site(site__terms_html=TERMS.replace("costs $29", "costs $24.50")))
    assert codes(terms) == [("price_mismatch_site", "blocking", "site/terms.html")]
    assert "$24.50" in terms[0].message
    # A site that names no price at all: worth a look, not a stop.
    unpriced = check(
        site(
            site__index_html=INDEX.replace("<strong>$29</strong> per mug", "Per mug"),
            site__terms_html=TERMS.replace("Each mug costs $29. ", ""),
        )
    )
    assert codes(unpriced) == [("price_not_on_site", "warning", "")]


def test_stripe_and_pricing_must_agree_with_the_offer() -> None:
    findings = check(site(), stripe_price="24.00", pricing_text="Launch price: $24 per mug.")
    assert codes(findings) == [("price_mismatch_pricing", "blocking", ""), ("price_mismatch_stripe", "blocking", "")]
    assert "$24" in findings[1].message and "$29" in findings[1].message
    # Without the offer's price, Stripe's price is the reference.
    no_offer = check(site(), price=None, stripe_price="29", pricing_text=PRICING)
    assert no_offer == []
    nothing = check(site(), price=None, stripe_price=None, pricing_text=None)
    assert codes(nothing) == [("price_unknown", "warning", "")]


def test_other_amounts_on_a_page_are_a_warning() -> None:
    index = INDEX.replace("per mug,", "per mug (was $35),")
    findings = check(site(site__index_html=index))
    assert codes(findings) == [("price_other_amount", "warning", "site/index.html")]
    assert not has_blocking(findings)


def test_terms_and_privacy_must_exist_and_be_linked() -> None:
    missing = check(site(site__privacy_html=None))
    assert codes(missing) == [("privacy_missing", "blocking", "")]
    unlinked = INDEX.replace('<a href="terms.html">Terms</a> · ', "")
    assert codes(check(site(site__index_html=unlinked))) == [("terms_not_linked", "blocking", "site/index.html")]
    # A site at the repository root, pages in a folder.
    flat = {
        "index.html": INDEX.replace('href="terms.html"', 'href="/legal/terms-of-service.html"').replace(
            'href="./privacy.html#cookies"', 'href="legal/privacy-policy.html?v=2"'
        ),
        "legal/terms-of-service.html": TERMS.replace('href="index.html"', 'href="../index.html"'),
        "legal/privacy-policy.html": PRIVACY,
    }
    assert check(flat) == []
    assert codes(check({"site/about.html": PRIVACY})) == [("site_missing_index", "blocking", "")]


@pytest.mark.parametrize(
    ("secret", "what"),
    [
        ("sk_live_51HxAbCdEfGhIjKlMnOpQrStUv", "Stripe secret key"),
        ("ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789", "GitHub token"),
        ("xoxb-123456789012-123456789012-AbCdEfGhIjKlMnOpQrStUvWx", "Slack token"),
        ("AKIAIOSFODNN7EXAMPLE", "AWS access key id"),
        ("sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz012345", "OpenAI API key"),
        ("-----BEGIN RSA PRIVATE KEY-----", "private key"),
    ],
)
def test_secrets_are_blocking_and_never_echoed(secret: str, what: str) -> None:
    index = INDEX.replace("</body>", f"<!-- deploy with {secret} -->\n</body>")
    findings = check(site(site__index_html=index))
    assert codes(findings) == [("secret", "blocking", "site/index.html")]
    assert what in findings[0].message and secret not in findings[0].message


def test_personal_email_addresses_are_blocking() -> None:
    index = INDEX.replace("</main>", "<p>Founder: Jane.Doe@gmail.com</p></main>")
    readme = README + "\nMaintainer: ops@mugly.shop, samples: test@example.com\n"
    findings = check(site(site__index_html=index, README_md=readme))
    assert sorted((f.code, f.file) for f in findings) == [
        ("personal_data_email", "README.md"),
        ("personal_data_email", "site/index.html"),
    ]
    assert {m for f in findings for m in ("jane.doe@gmail.com", "ops@mugly.shop") if m in f.message} == {
        "jane.doe@gmail.com",
        "ops@mugly.shop",
    }
    # The allowed contact is fine; so is an asset named like an address (img/logo@2x.png).
    assert check(site(), allowed_emails=[]) == [
        Finding(
            code="personal_data_email",
            severity="blocking",
            file="site/index.html",
            message="The email address hello@mugly.shop is published; only the contact address may appear.",
        )
    ]


def test_external_resources_are_blocking_links_are_not() -> None:
    index = INDEX.replace(
        '<link rel="icon" href="/favicon.ico">',
        '<link rel="icon" href="/favicon.ico">\n'
        '  <link rel="stylesheet" href="https://fonts.googleapis.com/css2?family=Inter">\n'
        '  <script src="//cdn.example.net/analytics.js"></script>',
    ).replace(
        "<h1>Mugly</h1>",
        '<h1>Mugly</h1><img srcset="img/a.png 1x, https://images.example.org/b.png 2x" alt="">'
        '<div style="background: url(http://tracker.example.com/px.gif)"></div>'
        "<style>@import url('https://fonts.example.com/inter.css');</style>",
    )
    css = CSS + '@import "https://cdn.example.com/reset.css";\n.hero { background: url(//img.example.com/x.jpg) }\n'
    findings = check(site(site__index_html=index, site__styles_css=css))
    assert all(f.code == "external_resource" and f.severity == "blocking" for f in findings)
    hosts = sorted(f.message.split(" from ")[1].split(":")[0] for f in findings)
    assert hosts == [
        "cdn.example.com",
        "cdn.example.net",
        "fonts.example.com",
        "fonts.googleapis.com",
        "images.example.org",
        "img.example.com",
        "tracker.example.com",
    ]
    assert {f.file for f in findings} == {"site/index.html", "site/styles.css"}


def test_findings_are_bounded_and_blocking_first() -> None:
    index = INDEX.replace(
        "</main>", "<p>Was $35.</p>" + "".join(f"<p>u{i}@gmail.com</p>" for i in range(150)) + "</main>"
    )
    findings = check(site(site__index_html=index))
    assert len(findings) == 100
    assert all(f.severity == "blocking" for f in findings)  # the price warning fell off the end
    assert all(len(f.message) <= 500 for f in findings)


def test_amounts_and_prices() -> None:
    assert [str(a) for a in amounts("$29, US$ 1,299.50, 45 USD, $29 again, 3–5 days, 14-day")] == [
        "29.00",
        "1299.50",
        "45.00",
    ]
    assert [str(parse_price(v)) for v in ("29", "$29", "29.00", "USD 29", "$29.99/month")] == [
        "29.00",
        "29.00",
        "29.00",
        "29.00",
        "29.99",
    ]
    assert parse_price("") is None and parse_price("free") is None
