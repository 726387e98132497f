"""A website deliverable as the producers write it (the contract): index, terms, privacy and a
stylesheet, relative links only, and the buy button that says payments are not live yet."""

from __future__ import annotations

NOT_LIVE_BUY = '<a id="buy" class="buy" href="#payments-not-live">Payments are not live yet</a>'


def page(title: str, body: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title}</title>
  <link rel="stylesheet" href="style.css">
</head>
<body>
<main>
{body}
</main>
<footer><a href="index.html">Home</a> · <a href="terms.html">Terms</a> · <a href="privacy.html">Privacy</a></footer>
</body>
</html>
"""


SITE = {
    "index.html": page(
        "Kiln & Co mugs",
        "<h1>Kiln &amp; Co</h1>\n<p>Handmade stoneware mugs for coffee lovers in Berlin.</p>\n"
        f'<p class="price">35 EUR per mug</p>\n{NOT_LIVE_BUY}',
    ),
    "terms.html": page("Terms", "<h1>Terms</h1>\n<p>30-day returns. Prices in EUR incl. VAT.</p>"),
    "privacy.html": page("Privacy", "<h1>Privacy</h1>\n<p>We keep your e-mail to ship your order.</p>"),
    "style.css": "body { font-family: system-ui, sans-serif; }\n.buy { padding: .6rem 1rem; }\n",
}

# Today's offline draft: the site in a folder, a template placeholder, and dead links.
LEGACY_DRAFT = {
    "site/index.html": (
        '<html><body><main><h1>Mugs</h1><a href="{{PAYMENT_LINK}}" role="button">Buy Mugs</a></main>'
        '<footer><a href="terms.html">Terms</a> · <a href="privacy.html">Privacy</a></footer></body></html>'
    ),
    "README.md": "# Mugs\n",
}
