"""The book's ledger: every claim of the executed chapters, on the landing page.

:func:`ledger_markdown` (called by ``tools/book.py`` when it builds the site) writes, in order:

1. one sentence with the tally of verdicts and how many decided verdicts chance alone could
   flip (:func:`dmmlib.claims.chance_flips`);
2. the tally per kind of claim (paper, companion, notes, extension, protocol);
3. filters by verdict and by kind (``book/_static/ledger.js``; the page works without them);
4. one folded section per chapter: a table of its claims (short title, kind, our estimate
   with its interval, the criterion as threshold and direction, the verdict), each with its
   full statement, quote, preconditions and reason folded under the title;
5. the setup checks the verdicts rest on (:func:`setup_rows`): accuracies, reconstruction
   errors, convergence, attack success, each with the paper's value and whether it was met.

:func:`findings_markdown` writes the landing page's opening: what the book finds, from the
same claims, with one row per chapter.

:func:`chapter_findings_markdown` writes a chapter page's opening (``tools/book.py`` puts it
under the page's title): what that chapter finds, from its own claims.

The tables are HTML (``dmm-table``: they scroll inside their own box, never clipped); links go
to the MyST label of the section that shows each claim.
"""
from __future__ import annotations

import re
from html import escape
from typing import Mapping, Sequence

from dmmlib.claims import KINDS, VERDICTS, CHANCE_PER_VERDICT, DECIDED, Claim, chance_flips, counts, counts_by_kind
from dmmlib.report import fmt_number


def setup_rows(claims: Sequence[Claim]) -> list[dict]:
    """The distinct preconditions of ``claims``, one row each: chapter, condition, measured,
    needs, paper, met ("yes" / "no") and how many claims rest on it."""
    rows: dict[tuple, dict] = {}
    for c in claims:
        for p in c.preconditions:
            key = (c.chapter, p.name, p.value, p.criterion.text())
            row = rows.setdefault(key, {
                "chapter": c.chapter, "condition": p.name, "measured": f"{fmt_number(p.value)} {p.unit}".rstrip(),
                "needs": p.criterion.text(), "paper": p.paper or "—", "met": "yes" if p.met else "no", "claims": 0})
            row["claims"] += 1
    return list(rows.values())


def findings_markdown(claims: Sequence[Claim], titles: Mapping[str, str] | None = None) -> str:
    """What the book finds, for the top of the landing page, written from the claims alone:
    the tally, the DMM paper's claims that hold and those that fail (each linked to its
    section), what the companions' claims gave, why the rest was not tested at this scale (the
    failed preconditions, most frequent first); one row per chapter right under the tally."""
    if not claims:
        return "No chapter has recorded claims in this build.\n"
    titles = dict(titles or {})
    n = counts(claims)
    scales = sorted({c.scale.split(";", 1)[0] for c in claims})
    out = [f"In this build (profile {', '.join(f'`{s}`' for s in scales)}) the chapters test {len(claims)} claims: "
           f"{n['supports']} hold, {n['contradicts']} fail, {n['inconclusive']} are undecided by their intervals, "
           f"and {n['not tested']} are *not tested*: the run did not reach the regime their test needs.", "",
           _chapter_table(claims, titles), ""]
    for kind, label in (("paper", "The DMM paper's own claims"), ("companion", "The companion papers' claims")):
        mine = [c for c in claims if c.kind == kind]
        if not mine:
            continue
        k = counts(mine)
        out.append(f"**{label}** ({len(mine)}): {k['supports']} hold, {k['contradicts']} fail, "
                   f"{k['inconclusive']} undecided, {k['not tested']} not tested.")
        for verdict, word in (("supports", "Hold"), ("contradicts", "Fail")):
            hits = [c for c in mine if c.verdict == verdict]
            if hits:
                out.append(f"- {word}: " + "; ".join(_link(c) for c in hits) + ".")
        out.append("")
    failed: dict[str, int] = {}
    for c in claims:
        for p in c.preconditions:
            if not p.met:
                failed[p.name] = failed.get(p.name, 0) + 1
    if failed:
        top = sorted(failed.items(), key=lambda kv: -kv[1])
        shown = "; ".join(f"{escape(name)} ({k} claims)" for name, k in top[:6])
        more = f"; and {len(top) - 6} more conditions" if len(top) > 6 else ""
        out += [f"**Why {n['not tested']} claims were not tested.** The conditions that failed most often: "
                f"{shown}{more}. The setup checks below the ledger give each measured value beside the "
                "paper's; the `paper` profile, on a GPU, is where most of these get tested.", ""]
    return "\n".join(out) + "\n"


def chapter_findings_markdown(claims: Sequence[Claim]) -> str:
    """What one chapter finds, for the top of its page (under ``## What this chapter finds``),
    written from its claims alone: how many it tests and under which profile, the tally per
    verdict, the claims that hold, fail and are undecided (each linked to its section on the
    page), and the not-tested ones grouped by the preconditions that failed, with their values."""
    if not claims:
        return "This run recorded no claims: the chapter's verdicts are missing from its notebook.\n"
    n = counts(claims)
    scales = sorted({c.scale.split(";", 1)[0] for c in claims})
    are = lambda k: "is" if k == 1 else "are"  # noqa: E731
    parts = [f"{n['supports']} hold{'s' if n['supports'] == 1 else ''}" if n["supports"] else "",
             f"{n['contradicts']} fail{'s' if n['contradicts'] == 1 else ''}" if n["contradicts"] else "",
             f"{n['inconclusive']} {are(n['inconclusive'])} undecided by {'its' if n['inconclusive'] == 1 else 'their'} "
             f"interval{'' if n['inconclusive'] == 1 else 's'}" if n["inconclusive"] else "",
             f"{n['not tested']} {are(n['not tested'])} *not tested*" if n["not tested"] else ""]
    parts = [p for p in parts if p]
    tally = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    out = [f"This run (profile {', '.join(f'`{s}`' for s in scales)}) tests {len(claims)} "
           f"claim{'' if len(claims) == 1 else 's'}: {tally}. Each verdict follows from a criterion fixed in "
           "the chapter's code before the run; the table of claims at the end of the page gives each one's "
           "estimate, criterion and preconditions.", ""]
    for verdict, label in (("supports", "Supported"), ("contradicts", "Contradicted"),
                           ("inconclusive", "Inconclusive (the interval straddles the threshold)")):
        hits = [c for c in claims if c.verdict == verdict]
        if hits:
            out.append(f"- **{label}** ({len(hits)}): " + _sentence(_link(c, same_page=True) for c in hits))
    untested: dict[str, list[Claim]] = {}
    for c in claims:
        if c.verdict == "not tested":
            why = "; ".join(_failed_text(p) for p in c.preconditions if not p.met) or "a precondition failed"
            untested.setdefault(why, []).append(c)
    if untested:
        out.append(f"- **Not tested** ({n['not tested']}): a condition the test needs failed at this scale.")
        out += [f"  - {escape(why)}: " + _sentence(_link(c, same_page=True) for c in hits)
                for why, hits in untested.items()]
    return "\n".join(out) + "\n"


def _sentence(links) -> str:
    """Links joined by semicolons, ended by a full stop unless the last ends in an ellipsis."""
    text = "; ".join(links)
    return text if re.search(r"…(</a>)?$", text) else text + "."


def _failed_text(p) -> str:
    """``classifier test accuracy 0.55 (needs > 0.970)``: a failed precondition and its value."""
    return f"{p.name} {fmt_number(p.value)} {p.unit}".rstrip() + f" (needs {p.criterion.short()})"


def _href(c: Claim, same_page: bool = False) -> str:
    """Where a claim is shown: its section's anchor on its chapter's page (from the landing page:
    ``chapters/<chapter>.html#<id>``; ``same_page``: ``#<id>``, "" when it names no section)."""
    anchor = f"#{_html_id(c.section)}" if c.section else ""
    return anchor if same_page else f"chapters/{c.chapter}.html{anchor}"


def _link(c: Claim, same_page: bool = False) -> str:
    """An HTML link from a claim's short title to the section that shows it (``same_page``: a link
    from the chapter's own page; a claim that names no section is then its title alone)."""
    href = _href(c, same_page)
    return f'<a href="{escape(href)}">{escape(c.short_title)}</a>' if href else escape(c.short_title)


def ledger_markdown(claims: Sequence[Claim], titles: Mapping[str, str] | None = None) -> str:
    """The ledger (see the module's docstring). ``titles``: {chapter: its page title}, for the
    sections' headings (default: the chapter's name)."""
    if not claims:
        return "No chapter has recorded claims in this build.\n"
    titles = dict(titles or {})
    chapters = list(dict.fromkeys(c.chapter for c in claims))
    n = counts(claims)
    decided = sum(n[v] for v in DECIDED)
    out = [
        f"{len(claims)} claims from {len(chapters)} chapters: {n['supports']} supported, {n['contradicts']} "
        f"contradicted, {n['inconclusive']} inconclusive, {n['not tested']} not tested (a precondition failed at "
        f"this scale). Chance alone could put about {chance_flips(claims):.1f} of the {decided} decided verdicts "
        f"on the wrong side ({100 * CHANCE_PER_VERDICT:g} % each: one tail of a 95 % interval).",
        "",
        _tally_table("kind", [(k, KINDS[k], v) for k, v in counts_by_kind(claims).items()]),
        "",
        _filters(claims),
        "",
    ]
    for ch in chapters:
        mine = [c for c in claims if c.chapter == ch]
        k = counts(mine)
        tally = ", ".join(f"{k[v]} {v}" for v in VERDICTS if k[v])
        out += [f'<details class="dmm-details dmm-ledger-chapter" open><summary>{escape(titles.get(ch, ch))} '
                f'({len(mine)} claims: {tally})</summary>', _claims_table(mine), "</details>", ""]
    setup = setup_rows(claims)
    if setup:
        failed = sum(r["met"] == "no" for r in setup)
        out += [f'<details class="dmm-details"><summary>Setup checks: {len(setup)} conditions the verdicts rest on, '
                f'{failed} not met</summary>',
                "<p>Measured in the same runs; they are not findings about the DMM. A claim whose condition "
                "fails is <em>not tested</em>.</p>", _setup_table(setup), "</details>", ""]
    return "\n".join(out) + "\n"


def _chapter_table(claims: Sequence[Claim], titles: Mapping[str, str]) -> str:
    """One row per chapter, in book order: its link, its claims' count per verdict and per kind."""
    head = "<th>chapter</th>" + "".join(f"<th>{v}</th>" for v in VERDICTS) + "<th>kinds of claim</th>"
    body = []
    for ch in dict.fromkeys(c.chapter for c in claims):
        mine = [c for c in claims if c.chapter == ch]
        k = counts(mine)
        kinds = " · ".join(f"{kind} {sum(c.kind == kind for c in mine)}" for kind in KINDS
                           if any(c.kind == kind for c in mine))
        body.append(f'<tr><td><a href="chapters/{ch}.html">{escape(titles.get(ch, ch))}</a></td>'
                    + "".join(f"<td>{k[v]}</td>" for v in VERDICTS) + f"<td>{kinds}</td></tr>")
    return f'<div class="dmm-table dmm-chapter-summary"><table><tr>{head}</tr>{"".join(body)}</table></div>'


def _tally_table(first: str, rows: list[tuple]) -> str:
    head = f"<th>{first}</th>" + ("<th>what it means</th>" if first == "kind" else "") + \
        "".join(f"<th>{v}</th>" for v in VERDICTS)
    body = []
    for name, meaning, k in rows:
        cells = f"<td>{name}</td>" + (f"<td>{escape(meaning)}</td>" if first == "kind" else "")
        body.append("<tr>" + cells + "".join(f"<td>{k[v]}</td>" for v in VERDICTS) + "</tr>")
    return f'<div class="dmm-table dmm-ledger-tally"><table><tr>{head}</tr>{"".join(body)}</table></div>'


def _filters(claims: Sequence[Claim]) -> str:
    kinds = [k for k in KINDS if any(c.kind == k for c in claims)]
    boxes = lambda attr, values: " ".join(  # noqa: E731
        f'<label><input type="checkbox" data-filter="{attr}" value="{escape(v)}" checked> {escape(v)}</label>'
        for v in values)
    return (f'<div class="dmm-ledger-filters">Show verdicts: {boxes("verdict", VERDICTS)}<br>'
            f'Show kinds: {boxes("kind", kinds)}</div>')


def _claims_table(claims: Sequence[Claim]) -> str:
    head = "".join(f"<th>{h}</th>" for h in ("claim", "kind", "ours [95 % CI]", "criterion", "verdict"))
    rows = []
    for c in claims:
        href = _href(c)
        details = [f"<b>Claim.</b> {escape(c.statement)}", f"<b>Criterion.</b> {escape(c.criterion.text())}",
                   f"<b>Source.</b> {escape(c.source)}" + (f": {escape(c.quote)}" if c.quote else ""),
                   f"<b>Paper's number.</b> {escape(c.paper or '—')}",
                   f"<b>Ours.</b> {escape(c.ours.text())}, n = {c.ours.n} {escape(c.ours.n_of)}",
                   f"<b>Preconditions.</b> {escape(c.precondition_text())}"]
        if c.control is not None:
            how = "paired comparison" if c.paired else "must fail the same criterion"
            details.append(f"<b>Control</b> ({how}). {escape(c.control_name or 'control')}: {escape(c.control.text())}")
        details += [f"<b>Why this verdict.</b> {escape(c.reason)}", f"<b>Scale.</b> {escape(c.scale)}",
                    f"<b>Id.</b> <code>{escape(c.id)}</code>"]
        title = (f'<a href="{escape(href)}">{escape(c.short_title)}</a><details class="dmm-claim-details">'
                 f'<summary>details</summary>{"<br>".join(details)}</details>')
        rows.append(f'<tr data-verdict="{escape(c.verdict)}" data-kind="{escape(c.kind)}"><td>{title}</td>'
                    f"<td>{escape(c.kind or '—')}</td><td>{escape(c.ours.text())}</td>"
                    f"<td>{escape(c.criterion.short())}</td><td><b>{escape(c.verdict)}</b></td></tr>")
    return f'<div class="dmm-table dmm-ledger"><table><tr>{head}</tr>{"".join(rows)}</table></div>'


def _setup_table(rows: list[dict]) -> str:
    cols = ("chapter", "condition", "measured", "needs", "paper", "met", "claims")
    head = "".join(f"<th>{c}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(r[c]))}</td>" for c in cols) + "</tr>" for r in rows)
    return f'<div class="dmm-table dmm-ledger-setup"><table><tr>{head}</tr>{body}</table></div>'


def _html_id(label: str) -> str:
    """The HTML id Sphinx gives a MyST label (docutils' ``make_id``: lower case, runs of other
    characters as one hyphen)."""
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
