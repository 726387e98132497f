"""The compliance review over a project's deliverables (pure: documents in, a bounded report out)."""

from __future__ import annotations

from activities.compliance_review import review_documents
from boardroom.settings import DEFAULT_FORBIDDEN_CLAIMS
from domain.launch import MAX_COMPLIANCE_FINDINGS, MAX_COMPLIANCE_SUMMARY_CHARS, ComplianceReport
from store.tables import Document

PAGE = (
    '<!doctype html><html><head><link rel="stylesheet" href="style.css"></head><body><h1>Mugs</h1>'
    '<p>{body}</p><a href="terms.html">Terms</a> <a href="privacy.html">Privacy</a></body></html>'
)
KINDS = {"pricing": "pricing", "website": "code", "launch-content": "content", "research": "research"}


def site(body: str) -> dict[str, str]:
    legal = "<!doctype html><html><body><p>Text</p></body></html>"
    return {"index.html": PAGE.format(body=body), "terms.html": legal, "privacy.html": legal, "style.css": "body{}"}


def docs(
    site_body: str = "Only $29 per mug.", pricing: str = "Launch price: **$29**", content: str = ""
) -> list[Document]:
    return [
        Document(id=1, project_id="p", task_id="pricing", content=pricing),
        Document(id=2, project_id="p", task_id="website", content="# Site", files=site(site_body)),
        Document(id=3, project_id="p", task_id="launch-content", content=content or "Mugs are here."),
        Document(id=4, project_id="p", task_id="research", content="Competitors promise guaranteed results."),
    ]


def review(documents: list[Document], price: str | None = "29.00") -> ComplianceReport:
    return review_documents(documents, task_kinds=KINDS, price=price, forbidden=DEFAULT_FORBIDDEN_CLAIMS)


def test_a_clean_project_has_no_blocking_findings_and_internal_research_is_not_public() -> None:
    report = review(docs())
    assert report.blocking == 0, report.summary
    assert report.revise_task_ids == []
    assert report.task_deliverables == {"pricing": 1, "website": 2, "launch-content": 3, "research": 4}


def test_a_forbidden_claim_on_the_site_goes_back_to_the_website_task() -> None:
    report = review(docs(site_body="Only $29. Guaranteed results!"))
    assert report.blocking == 1
    blocking = [(f.code, f.file) for f in report.findings if f.severity == "blocking"]
    assert blocking == [("forbidden_claim", "index.html")]
    assert report.revise_task_ids == ["website"]
    assert "forbidden_claim in index.html" in report.summary


def test_prices_must_agree_with_the_offer_the_pricing_and_the_site() -> None:
    report = review(docs(pricing="Launch price: **$35**", site_body="Only $35 per mug."))
    codes = {f.code for f in report.findings if f.severity == "blocking"}
    assert codes == {"price_mismatch_site", "price_mismatch_pricing"}
    assert set(report.revise_task_ids) == {"website", "pricing"}


def test_public_copy_with_a_secret_or_claim_goes_back_to_its_task() -> None:
    report = review(docs(content="Risk-free! Mail jane.doe@gmail.com"))
    blocking = [f for f in report.findings if f.severity == "blocking"]
    assert {f.code for f in blocking} == {"forbidden_claim", "personal_data_email"}
    assert report.revise_task_ids == ["launch-content"]


def test_the_newest_version_of_a_task_is_checked_and_the_report_stays_bounded() -> None:
    old = Document(id=5, project_id="p", task_id="launch-content", version=1, content="Risk-free!")
    new = Document(id=9, project_id="p", task_id="launch-content", version=2, content="Fine.")
    assert review([*docs()[:2], old, new]).blocking == 0
    many = "".join(f" Write to person{i}@gmail.com." for i in range(60))
    report = review(docs(content=many))
    assert report.blocking == 60
    assert len(report.findings) == MAX_COMPLIANCE_FINDINGS
    assert len(report.summary) <= MAX_COMPLIANCE_SUMMARY_CHARS and "more." in report.summary
    assert report.task_versions["launch-content"] == 1
