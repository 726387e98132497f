"""The compliance review before go-live, over the deliverables launch would make public.

`review_documents` is pure (the activity `compliance_review` in activities/integrations.py loads
the documents and calls it): the site (the newest deliverable with an index.html) gets every
rule of activities/compliance.py; public-facing text deliverables (content, marketing, sales,
legal) get the claim, personal-data and secret checks; the pricing deliverable's text and the
offer price Stripe will use are compared with the prices on the site. The report is small and
bounded: counts, the first findings, a short summary, and which tasks a revision goes back to.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from activities import compliance as rules
from activities import site as sitelib
from domain.launch import MAX_COMPLIANCE_FINDINGS, MAX_COMPLIANCE_SUMMARY_CHARS, ComplianceFindingView, ComplianceReport
from domain.work import Usage
from store.tables import Document

# The compliance reviewer with a model (AgentActivities.compliance_findings): the project id, the
# public documents (task id, title, text) and the rule findings → its own findings, each with its task.
ComplianceReviewer = Callable[
    [str, list[tuple[str, str, str]], list[str]], Awaitable[tuple[list[tuple[str, rules.Finding]], Usage]]
]

# Deliverable kinds whose text goes out to customers (besides the site's files).
PUBLIC_KINDS = frozenset({"content", "marketing", "sales", "legal", "copy", "announcement"})
MAX_SUMMARY_LINES = 8


def _latest_per_task(docs: Sequence[Document]) -> dict[str, Document]:
    latest: dict[str, Document] = {}
    for doc in docs:
        key = doc.task_id or f"doc-{doc.id}"
        if key not in latest or (doc.id or 0) > (latest[key].id or 0):
            latest[key] = doc
    return latest


def _site_document(latest: dict[str, Document]) -> Document | None:
    with_site = [d for d in latest.values() if sitelib.site_files(d.files) is not None]
    return max(with_site, key=lambda d: d.id or 0) if with_site else None


def public_documents(docs: Sequence[Document], task_kinds: dict[str, str]) -> list[tuple[str, str, str]]:
    """(task id, title, text with the site's files) of what would go public: the site and the
    public text deliverables, newest version each — what the compliance reviewer reads."""
    latest = _latest_per_task(docs)
    site_doc = _site_document(latest)
    public = []
    for task_id, doc in sorted(latest.items()):
        if doc is site_doc:
            files = sitelib.site_files(doc.files) or {}
            text = "\n\n".join(f"--- file {name} ---\n{body}" for name, body in sorted(files.items()))
            public.append((task_id, doc.title or "Website", text))
        elif task_kinds.get(task_id) in PUBLIC_KINDS:
            public.append((task_id, doc.title or "deliverable", doc.content))
    return public


def review_documents(
    docs: Sequence[Document],
    *,
    task_kinds: dict[str, str],
    price: str | None,
    forbidden: Sequence[str],
    allowed_emails: Sequence[str] = (),
    extra: Sequence[tuple[str, rules.Finding]] = (),
) -> ComplianceReport:
    """The report over the rule checks, plus `extra` findings (the compliance reviewer's, each
    with the task it concerns: a blocking one sends that task back)."""
    latest = _latest_per_task(docs)
    findings: list[rules.Finding] = []
    revise: list[str] = []
    pricing = [d for t, d in latest.items() if task_kinds.get(t) == "pricing"]
    pricing_text = "\n".join(d.content for d in pricing) if pricing else None
    site_doc = _site_document(latest)
    if site_doc is None:
        findings.append(
            rules.Finding(code="site_missing", severity="warning", message="No deliverable holds a website to check.")
        )
    else:
        site = rules.check_site(
            dict(site_doc.files or {}),
            price=price,
            pricing_text=pricing_text,
            stripe_price=price,
            forbidden=forbidden,
            allowed_emails=allowed_emails,
        )
        for f in site:
            if f.code == "price_mismatch_pricing":
                revise += [d.task_id for d in pricing]
            elif f.severity == "blocking":
                revise.append(site_doc.task_id)
        findings += site
    for task_id, doc in sorted(latest.items()):
        if doc is site_doc or task_kinds.get(task_id) not in PUBLIC_KINDS:
            continue
        found = rules.check_document(
            f"{task_id} ({doc.title or 'deliverable'})"[:300],
            doc.content,
            forbidden=forbidden,
            allowed_emails=allowed_emails,
        )
        if rules.has_blocking(found):
            revise.append(task_id)
        findings += found
    for task_id, finding in extra:
        if finding.severity == "blocking" and task_id in latest:
            revise.append(task_id)
        findings.append(finding)
    findings.sort(key=lambda f: f.severity != "blocking")
    blocking = sum(1 for f in findings if f.severity == "blocking")
    warnings = len(findings) - blocking
    shown = findings[:MAX_COMPLIANCE_FINDINGS]
    lines = [f"- [{f.severity}] {f.code}" + (f" in {f.file}" if f.file else "") + f": {f.message}" for f in shown]
    head = f"Compliance review: {blocking} blocking finding(s), {warnings} warning(s)."
    more = [f"… and {len(findings) - MAX_SUMMARY_LINES} more."] if len(findings) > MAX_SUMMARY_LINES else []
    summary = "\n".join([head, *lines[:MAX_SUMMARY_LINES], *more])
    return ComplianceReport(
        blocking=blocking,
        warnings=warnings,
        findings=[ComplianceFindingView(**f.model_dump()) for f in shown],
        summary=summary[:MAX_COMPLIANCE_SUMMARY_CHARS],
        revise_task_ids=[t for t in dict.fromkeys(revise) if t][:20],
        task_deliverables={t: d.id for t, d in list(latest.items())[:200] if d.id is not None},
        task_versions={t: d.version for t, d in list(latest.items())[:200]},
    )
