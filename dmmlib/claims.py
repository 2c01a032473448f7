"""Claims and their verdicts: how a number becomes a conclusion.

A chapter states each claim it tests as a :class:`Claim`: the claim in words with its
source, the paper's number when it gives one, our estimate with its interval and sample
size, and a :class:`Criterion` (a threshold and a direction) written in the chapter's
``claims.py`` *before* the run. The verdict follows mechanically:

- ``supports``: the whole interval lies on the claimed side of the threshold;
- ``contradicts``: the whole interval lies on the other side;
- ``inconclusive``: the interval straddles the threshold (or is undefined).

A check that a control would pass as well tests nothing. When a claim carries a
``control`` estimate (a random subspace, a random direction, an untrained network) and the
control's interval passes the same criterion, a ``supports`` becomes ``inconclusive``.

Every executed chapter glues its claims (:func:`to_json`); ``tools/book.py`` collects them
into the book's ledger (:func:`ledger_markdown`) on the landing page.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Iterable, Sequence

VERDICTS = ("supports", "contradicts", "inconclusive")
_DIRECTIONS = (">", "<", "within", "outside")


@dataclass(frozen=True)
class Estimate:
    """A value with its two-sided interval ``[lo, hi]`` and sample size ``n`` (what ``n``
    counts is said in ``n_of``: "images", "seeds", "models x images", ...)."""

    value: float
    lo: float
    hi: float
    n: int
    n_of: str = ""
    unit: str = ""

    @classmethod
    def of(cls, interval, *, n_of: str = "", unit: str = "") -> "Estimate":
        """From anything with ``estimate|mean|value``, ``lo``, ``hi`` and ``n``
        (:class:`dmmlib.stats.Interval` and friends)."""
        value = next(getattr(interval, k) for k in ("estimate", "value", "mean", "mean_diff") if hasattr(interval, k))
        return cls(float(value), float(interval.lo), float(interval.hi), int(interval.n), n_of, unit)

    @property
    def defined(self) -> bool:
        return all(math.isfinite(v) for v in (self.value, self.lo, self.hi)) and self.lo <= self.hi

    def text(self, digits: int = 3) -> str:
        """``2.67 [2.61, 2.74]`` (three significant digits), with the unit when there is one."""
        from dmmlib.report import fmt_interval

        out = fmt_interval(self.value, self.lo, self.hi, digits=digits)
        return f"{out} {self.unit}".rstrip()


@dataclass(frozen=True)
class Criterion:
    """What the estimate must satisfy for the claim to hold.

    ``direction`` is ``">"`` or ``"<"`` (compared with ``threshold``), or ``"within"`` /
    ``"outside"`` (compared with the band ``[threshold, upper]``). ``meaning`` says in words
    why this threshold (e.g. "a random direction gives 45 degrees").
    """

    direction: str
    threshold: float
    upper: float | None = None
    meaning: str = ""

    def __post_init__(self):
        if self.direction not in _DIRECTIONS:
            raise ValueError(f"direction must be one of {_DIRECTIONS}, got {self.direction!r}")
        band = self.direction in ("within", "outside")
        if band != (self.upper is not None):
            raise ValueError(f"direction {self.direction!r} {'needs' if band else 'takes no'} upper")
        if band and not self.threshold < self.upper:
            raise ValueError(f"band [{self.threshold}, {self.upper}] is empty")

    def judge(self, est: Estimate) -> str:
        """The verdict for ``est``'s interval (see the module's docstring)."""
        if not est.defined:
            return "inconclusive"
        lo, hi, t = est.lo, est.hi, self.threshold
        if self.direction == ">":
            return "supports" if lo > t else "contradicts" if hi < t else "inconclusive"
        if self.direction == "<":
            return "supports" if hi < t else "contradicts" if lo > t else "inconclusive"
        inside = lo >= t and hi <= self.upper
        outside = hi < t or lo > self.upper
        if self.direction == "within":
            return "supports" if inside else "contradicts" if outside else "inconclusive"
        return "supports" if outside else "contradicts" if inside else "inconclusive"

    def text(self) -> str:
        from dmmlib.report import fmt_number

        if self.direction in (">", "<"):
            core = f"{self.direction} {fmt_number(self.threshold)}"
        else:
            core = f"{self.direction} [{fmt_number(self.threshold)}, {fmt_number(self.upper)}]"
        return f"{core} ({self.meaning})" if self.meaning else core


@dataclass(frozen=True)
class Claim:
    """One tested claim of the book. Build it with :func:`claim`, which computes the verdict.

    Fields: ``id`` (unique in the book: ``<chapter>.<name>``), ``statement`` (the claim in
    words), ``source`` (paper and section), ``paper`` (the paper's number as text, "" when it
    gives none), ``ours`` (:class:`Estimate`), ``criterion``, ``control`` (the same quantity for
    a control that must *not* pass, or None) with ``control_name``, ``verdict``, ``reason``
    (why this verdict, in words), ``scale`` (profile, seeds, n, hardware) and ``section``
    (the MyST label of the chapter's section that shows it, for the ledger's link).
    """

    id: str
    statement: str
    source: str
    paper: str
    ours: Estimate
    criterion: Criterion
    verdict: str
    reason: str
    scale: str
    section: str = ""
    control: Estimate | None = None
    control_name: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def chapter(self) -> str:
        return self.id.split(".", 1)[0]

    def sentence(self) -> str:
        """One line for the prose: ``**supports**: 0.83 [0.75, 0.90] > 0.5 (...)``."""
        return f"**{self.verdict}**: {self.ours.text()} against the criterion {self.criterion.text()}; {self.reason}"


def claim(
    id: str,
    statement: str,
    *,
    source: str,
    ours: Estimate,
    criterion: Criterion,
    scale: str,
    paper: str = "",
    section: str = "",
    control: Estimate | None = None,
    control_name: str = "",
    extra: dict | None = None,
) -> Claim:
    """A :class:`Claim` with its verdict decided by ``criterion`` (and ``control``).

    ``id`` must look like ``<chapter>.<name>``.
    """
    if id.count(".") != 1 or not all(id.split(".")):
        raise ValueError(f"claim id must be '<chapter>.<name>', got {id!r}")
    verdict = criterion.judge(ours)
    if not ours.defined:
        reason = "the estimate or its interval is undefined"
    elif verdict == "inconclusive":
        reason = "the interval straddles the threshold"
    else:
        reason = f"the whole interval is {'on' if verdict == 'supports' else 'against'} the claimed side"
    if control is not None:
        control_verdict = criterion.judge(control)
        if verdict == "supports" and control_verdict != "contradicts":
            verdict = "inconclusive"
            reason = (f"the control ({control_name or 'control'}: {control.text()}) "
                      f"{'passes' if control_verdict == 'supports' else 'may pass'} the same criterion")
        elif verdict == "supports":
            reason += f"; the control ({control_name or 'control'}: {control.text()}) fails it"
    return Claim(id, statement, source, paper, ours, criterion, verdict, reason, scale, section,
                 control, control_name, dict(extra or {}))


def scale_text(profile: str, **counts) -> str:
    """``"quick; 3 seeds, 300 images; 2 threads, cpu"``: the scale a claim ran at."""
    import torch

    from dmmlib.device import get_device

    parts = ", ".join(f"{v} {k}" for k, v in counts.items())
    hw = f"{torch.get_num_threads()} threads, {get_device().type}"
    return "; ".join(p for p in (profile, parts, hw) if p)


def glue_claims(claims: Sequence[Claim]) -> None:
    """In a chapter's notebook: glue the claims for the ledger (key ``claims``) and, per claim
    ``<chapter>.<name>``, its verdict sentence (``verdict_<name>``, Markdown: use
    ``{glue:md}`verdict_<name>` `` in the prose) and its verdict word (``verdict_word_<name>``)."""
    from IPython.display import Markdown
    from myst_nb import glue

    glue("claims", to_json(claims), display=False)
    for c in claims:
        name = c.id.split(".", 1)[1]
        glue(f"verdict_{name}", Markdown(c.sentence()), display=False)
        glue(f"verdict_word_{name}", c.verdict, display=False)


def to_json(claims: Sequence[Claim]) -> str:
    """The claims as a JSON string (what a chapter glues under the key ``claims``)."""
    ids = [c.id for c in claims]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ValueError(f"duplicate claim ids: {dup}")
    return json.dumps([asdict(c) for c in claims], allow_nan=True)


def from_json(text: str) -> list[Claim]:
    """The inverse of :func:`to_json`."""
    out = []
    for d in json.loads(text):
        d = dict(d)
        d["ours"] = Estimate(**d["ours"])
        d["criterion"] = Criterion(**d["criterion"])
        d["control"] = Estimate(**d["control"]) if d.get("control") else None
        out.append(Claim(**d))
    return out


def counts(claims: Iterable[Claim]) -> dict[str, int]:
    """{verdict: how many claims have it}, every verdict present."""
    out = dict.fromkeys(VERDICTS, 0)
    for c in claims:
        out[c.verdict] += 1
    return out


def table(claims: Sequence[Claim], *, link: bool = False):
    """A pandas DataFrame of the claims for display: claim, source, paper, ours, criterion,
    verdict, scale. With ``link``, the claim text links to its chapter section (Markdown)."""
    import pandas as pd

    rows = []
    for c in claims:
        text = c.statement
        if link:
            target = f"chapters/{c.chapter}.html" + (f"#{c.section}" if c.section else "")
            text = f"[{text}]({target})"
        rows.append({"claim": text, "source": c.source, "paper": c.paper or "—", "ours": c.ours.text(),
                     "n": f"{c.ours.n} {c.ours.n_of}".strip(), "criterion": c.criterion.text(),
                     "control": c.control.text() if c.control else "—", "verdict": c.verdict, "scale": c.scale})
    return pd.DataFrame(rows)


def ledger_markdown(claims: Sequence[Claim]) -> str:
    """The book's ledger as a Markdown table, a summary line first (built by ``tools/book.py``)."""
    if not claims:
        return "No chapter has recorded claims in this build.\n"
    n = counts(claims)
    head = (f"{len(claims)} claims from {len({c.chapter for c in claims})} chapters: "
            f"{n['supports']} supported, {n['contradicts']} contradicted, {n['inconclusive']} inconclusive.\n\n")
    cols = ("claim", "source", "paper", "ours [95 % CI]", "verdict", "scale")
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for c in claims:
        text = c.statement.replace("`", "'").replace("<", "‹").replace(">", "›")
        # {ref} to the section's MyST label (a missing label fails the -W build), else the chapter
        link = f"{{ref}}`{text} <{c.section}>`" if c.section else f"{{doc}}`{text} <chapters/{c.chapter}>`"
        cells = (link, c.source, c.paper or "—", c.ours.text(), f"**{c.verdict}**", c.scale)
        lines.append("| " + " | ".join(_md_cell(x) for x in cells) + " |")
    return head + "\n".join(lines) + "\n"


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")
