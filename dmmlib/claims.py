"""Claims and their verdicts: how a number becomes a conclusion.

A chapter states each claim it tests as a :class:`Claim`, built by :func:`claim`:

- the claim in words, its **kind** (:data:`KINDS`: the DMM ``paper``, a ``companion`` paper,
  the reading ``notes``, the book's own ``extension``, or a ``protocol`` effect) and its
  **source** with a **quote** of the sentence it tests;
- the paper's number when it gives one;
- our estimate with its interval and sample size (:class:`Estimate`);
- a :class:`Criterion` (a threshold and a direction) written in the chapter's ``claims.py``
  *before* the run;
- its **preconditions** (:class:`Precondition`, built by :func:`precondition`): the conditions
  under which the test means something (the classifier's accuracy, the autoencoder's
  convergence, the attack's success rate, transfer), each measured in the same run, with the
  paper's value beside it where the paper gives one.

The verdict follows mechanically:

- ``not tested``: a precondition failed; the reason names it and its measured value. The
  estimate is still shown, but it decides nothing;
- ``supports``: the whole interval lies on the claimed side of the threshold;
- ``contradicts``: the whole interval lies on the other side;
- ``inconclusive``: the interval straddles the threshold (or is undefined).

Setup checks (an accuracy, a reconstruction error, a finite-difference error) are not claims
about the DMM: they are preconditions of the claims that rest on them, and the ledger lists
them in a table of their own.

**Controls.** A relative question ("the perturbation lies *less* in the tangent space than in
a random subspace") is answered by a paired, one-sided comparison: :func:`compare` turns
the per-unit measurements of the claim and its control into one estimate (a difference or a
ratio, with a paired bootstrap interval), and the criterion's direction states which side
supports the claim; a comparison on the other side contradicts it. ``paired=True`` marks
such a claim: its ``control`` is then shown, not judged. For an absolute claim whose control
must *fail* the same criterion (``paired=False``), a control that passes it turns a
``supports`` into ``inconclusive``.

**Chance.** Every decided verdict rests on a 95 % two-sided interval, so each has at most a
2.5 % chance of lying wholly on the wrong side by chance; :func:`chance_flips` gives the
number a ledger of that size would show by chance alone.

Every executed chapter glues its claims (:func:`to_json`); ``tools/book.py`` collects them
into the book's ledger (:func:`dmmlib.ledger.ledger_markdown`) on the landing page.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from typing import Iterable, Sequence

VERDICTS = ("supports", "contradicts", "inconclusive", "not tested")
#: The verdicts that decide a claim (the others leave it open).
DECIDED = ("supports", "contradicts")
#: The kinds of claim, and what each means.
KINDS = {
    "paper": "the DMM paper states it (Shamir, Melamed, BenShmuel 2021)",
    "companion": "a companion paper states it (Stutz; Gilmer et al.; Tanay and Griffin; Ilyas et al.)",
    "notes": "a question from the reading notes on the DMM",
    "extension": "the book's own generalisation of a claim (another dataset, another regime)",
    "protocol": "what a paper's protocol measures (a step size, a clamp), not the model",
}
#: Kinds whose claim must quote the sentence it tests.
QUOTED_KINDS = ("paper", "companion", "notes")
#: The most a decided verdict can be wrong by chance: one tail of a 95 % two-sided interval.
CHANCE_PER_VERDICT = 0.025
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

    def holds(self, value: float) -> bool:
        """Whether a single measured ``value`` (no interval) satisfies the criterion; nan never does.
        Used for preconditions, which are conditions of the run, not estimates."""
        value = float(value)
        if not math.isfinite(value):
            return False
        if self.direction == ">":
            return value > self.threshold
        if self.direction == "<":
            return value < self.threshold
        inside = self.threshold <= value <= self.upper
        return inside if self.direction == "within" else not inside

    def short(self) -> str:
        """The direction and threshold alone: ``> 0.500``, ``within [0.800, 1.25]``."""
        from dmmlib.report import fmt_number

        if self.direction in (">", "<"):
            return f"{self.direction} {fmt_number(self.threshold)}"
        return f"{self.direction} [{fmt_number(self.threshold)}, {fmt_number(self.upper)}]"

    def text(self) -> str:
        """:meth:`short` with the threshold's meaning: ``> 0.500 (most of the region)``."""
        core = self.short()
        return f"{core} ({self.meaning})" if self.meaning else core


@dataclass(frozen=True)
class Precondition:
    """A condition under which a claim's test means something, measured in the same run.

    ``name`` says what was measured ("classifier test accuracy"), ``value`` is the measured
    number (nan when it could not be measured: the condition then fails), ``criterion`` what
    it must satisfy (judged on the value itself, :meth:`Criterion.holds`), ``paper`` the
    paper's value with its section ("98 % (App. G.1)", "" when it gives none), ``unit`` the
    value's unit. Build it with :func:`precondition`.
    """

    name: str
    value: float
    criterion: Criterion
    paper: str = ""
    unit: str = ""

    @property
    def met(self) -> bool:
        return self.criterion.holds(self.value)

    def text(self) -> str:
        """``classifier test accuracy 0.955 (needs > 0.97: ...; paper 98 % (App. G.1))``."""
        from dmmlib.report import fmt_number

        value = f"{fmt_number(self.value)} {self.unit}".rstrip()
        paper = f"; paper {self.paper}" if self.paper else ""
        return f"{self.name} {value} (needs {self.criterion.text()}{paper})"


def precondition(name: str, value: float, direction: str, threshold: float, *, upper: float | None = None,
                 meaning: str = "", paper: str = "", unit: str = "") -> Precondition:
    """A :class:`Precondition`: ``value`` (a float measured in this run) must satisfy
    ``direction`` / ``threshold`` (/ ``upper`` for a band), as in :class:`Criterion`.

    Example: ``precondition("classifier test accuracy", 0.955, ">", 0.97, paper="98 % (App. G.1)")``.
    """
    if not isinstance(name, str) or not name:
        raise ValueError("a precondition needs a name")
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"precondition {name!r}: value must be a number, got {value!r}") from None
    return Precondition(name, value, Criterion(direction, float(threshold), upper, meaning), paper, unit)


@dataclass(frozen=True)
class Claim:
    """One tested claim of the book. Build it with :func:`claim`, which computes the verdict.

    Fields: ``id`` (unique in the book: ``<chapter>.<name>``), ``statement`` (the claim in
    words), ``source`` (paper and section), ``paper`` (the paper's number as text, "" when it
    gives none), ``ours`` (:class:`Estimate`), ``criterion``, ``control`` (the control's
    estimate, or None) with ``control_name``, ``verdict``, ``reason`` (why this verdict, in
    words), ``scale`` (profile, seeds, n, hardware), ``section`` (the MyST label of the
    chapter's section that shows it, for the ledger's link), ``kind`` (one of :data:`KINDS`),
    ``quote`` (the source's sentence), ``preconditions`` (:class:`Precondition`, all measured
    in this run), ``paired`` (``ours`` is already the paired comparison with ``control``, which
    is then shown and not judged), ``title`` (a few words for the ledger) and ``extra`` (details shown with the claim: the other
    readings of the same measurement, success rates, per-unit values).
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
    kind: str = ""
    quote: str = ""
    preconditions: tuple = ()
    paired: bool = False
    title: str = ""

    @property
    def chapter(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def short_title(self) -> str:
        """``title``, else the statement without its parenthetical details ("MNIST (the
        gradient ...): ..." reads "MNIST: ..."), at most 100 characters."""
        text = self.title
        if not text:
            text, before = self.statement, None
            while text != before:  # innermost groups first: nested parentheses go too
                before, text = text, re.sub(r"\s*\([^()]*\)", "", text)
            text = " ".join(text.split()) or self.statement
        return text if len(text) <= 100 else text[:99].rstrip() + "…"

    @property
    def tested(self) -> bool:
        """Whether every precondition held (the verdict then comes from the estimate)."""
        return all(p.met for p in self.preconditions)

    def precondition_text(self) -> str:
        """``all 2 met`` / ``failed: ...`` / ``none declared``: for the ledger's column."""
        if not self.preconditions:
            return "none declared"
        failed = [p for p in self.preconditions if not p.met]
        if not failed:
            return f"all {len(self.preconditions)} met"
        return "failed: " + "; ".join(p.text() for p in failed)

    def sentence(self) -> str:
        """One line for the prose: ``**supports**: 0.83 [0.75, 0.90] against the criterion > 0.5 (...); why``."""
        return f"**{self.verdict}**: {self.ours.text()} against the criterion {self.criterion.text()}; {self.reason}"


def claim(
    id: str,
    statement: str,
    *,
    kind: str,
    source: str,
    ours: Estimate,
    criterion: Criterion,
    scale: str,
    quote: str = "",
    paper: str = "",
    section: str = "",
    preconditions: Sequence[Precondition] = (),
    control: Estimate | None = None,
    control_name: str = "",
    paired: bool = False,
    extra: dict | None = None,
    title: str = "",
) -> Claim:
    """A :class:`Claim` with its verdict decided by its ``preconditions``, ``criterion`` and
    ``control`` (see the module's docstring).

    ``id`` must look like ``<chapter>.<name>``; ``kind`` is one of :data:`KINDS`, and a claim
    of a kind in :data:`QUOTED_KINDS` must ``quote`` the sentence it tests. ``paired=True``
    says ``ours`` already compares the claim with ``control`` (:func:`compare`); the control
    is then shown, not judged by the same criterion. ``title``: a few words for the ledger's
    row (default: the statement up to its first parenthesis).
    """
    if id.count(".") != 1 or not all(id.split(".")):
        raise ValueError(f"claim id must be '<chapter>.<name>', got {id!r}")
    if kind not in KINDS:
        raise ValueError(f"claim {id}: kind must be one of {tuple(KINDS)}, got {kind!r}")
    if kind in QUOTED_KINDS and not quote.strip():
        raise ValueError(f"claim {id}: a claim of kind {kind!r} must quote the sentence it tests")
    preconditions = tuple(preconditions)
    if not all(isinstance(p, Precondition) for p in preconditions):
        raise TypeError(f"claim {id}: preconditions must be Precondition objects (dmmlib.claims.precondition)")
    if paired and control is None:
        raise ValueError(f"claim {id}: paired=True needs the control's estimate")
    failed = [p for p in preconditions if not p.met]
    verdict = criterion.judge(ours)
    if failed:
        verdict = "not tested"
        reason = "a precondition failed: " + "; ".join(p.text() for p in failed)
    elif not ours.defined:
        reason = "the estimate or its interval is undefined"
    elif verdict == "inconclusive":
        reason = "the interval straddles the threshold"
    else:
        reason = f"the whole interval is {'on' if verdict == 'supports' else 'against'} the claimed side"
    if control is not None and not failed:
        name = control_name or "control"
        if paired:
            reason += f"; paired with the control ({name}: {control.text()})"
        else:
            control_verdict = criterion.judge(control)
            if verdict == "supports" and control_verdict != "contradicts":
                verdict = "inconclusive"
                reason = (f"the control ({name}: {control.text()}) "
                          f"{'passes' if control_verdict == 'supports' else 'may pass'} the same criterion")
            elif verdict == "supports":
                reason += f"; the control ({name}: {control.text()}) fails it"
    return Claim(id, statement, source, paper, ours, criterion, verdict, reason, scale, section,
                 control, control_name, dict(extra or {}), kind, quote, preconditions, bool(paired), title)


def compare(ours, control, *, statistic: str = "difference", units=None, n_of: str = "", unit: str = "",
            n_boot: int = 2000, seed: int = 0) -> Estimate:
    """The paired comparison of a claim's measurement with its control's, as one estimate.

    Args:
        ours, control: 1-d arrays of the same length N, paired row by row (the same image,
            seed or model measured under the claim's condition and under the control's).
        statistic: ``"difference"`` (mean(ours) - mean(control); no effect is 0) or
            ``"ratio"`` (mean(ours) / mean(control); no effect is 1).
        units: optional (N,) labels of the model unit of each row: the interval then comes
            from a hierarchical bootstrap (units, then rows within them), else from a paired
            bootstrap of the rows.
        n_of, unit: what N counts and the estimate's unit, for the reader.

    Returns:
        :class:`Estimate` with the 95 % two-sided percentile interval; each bound is a 97.5 %
        one-sided bound, and the claim's :class:`Criterion` (``">"`` or ``"<"`` against 0 or
        1) states the direction the claim predicts.
    """
    import numpy as np

    from dmmlib.stats import bootstrap_ci, hierarchical_bootstrap

    if statistic not in ("difference", "ratio"):
        raise ValueError(f"statistic must be 'difference' or 'ratio', got {statistic!r}")
    a = np.asarray(ours, dtype=np.float64).reshape(-1)
    b = np.asarray(control, dtype=np.float64).reshape(-1)
    if a.shape != b.shape or a.size == 0:
        raise ValueError(f"ours and control must be paired arrays of one length, got {a.shape} and {b.shape}")
    if statistic == "difference":
        flat, rows = (lambda x, y: x.mean() - y.mean()), (lambda x, y: x.mean(1) - y.mean(1))
    else:
        flat, rows = (lambda x, y: x.mean() / y.mean()), (lambda x, y: x.mean(1) / y.mean(1))
    if units is not None:
        h = hierarchical_bootstrap(flat, (a, b), np.asarray(units), n_boot=n_boot, seed=seed)
        return Estimate(h.estimate, h.lo, h.hi, h.n, n_of or f"pairs in {h.units} units", unit)
    keep = np.isfinite(a) & np.isfinite(b)
    if not keep.any():
        nan = float("nan")
        return Estimate(nan, nan, nan, 0, n_of or "pairs", unit)
    with np.errstate(divide="ignore", invalid="ignore"):
        ci = bootstrap_ci(a[keep], b[keep], statistic=rows, n_boot=n_boot, seed=seed)
    return Estimate(ci.estimate, ci.lo, ci.hi, ci.n, n_of or "pairs", unit)


def chance_flips(claims: Iterable[Claim]) -> float:
    """How many of the decided verdicts (supports or contradicts) chance alone could put on
    the wrong side: at most :data:`CHANCE_PER_VERDICT` each."""
    return CHANCE_PER_VERDICT * sum(c.verdict in DECIDED for c in claims)


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
        d["preconditions"] = tuple(Precondition(**{**p, "criterion": Criterion(**p["criterion"])})
                                   for p in d.get("preconditions", ()))
        out.append(Claim(**d))
    return out


def counts(claims: Iterable[Claim]) -> dict[str, int]:
    """{verdict: how many claims have it}, every verdict present."""
    out = dict.fromkeys(VERDICTS, 0)
    for c in claims:
        out[c.verdict] += 1
    return out


def counts_by_kind(claims: Iterable[Claim]) -> dict[str, dict[str, int]]:
    """{kind: {verdict: how many}} for the kinds present, in the order of :data:`KINDS`."""
    claims = list(claims)
    return {k: counts(c for c in claims if c.kind == k) for k in KINDS if any(c.kind == k for c in claims)}


def table(claims: Sequence[Claim], *, link: bool = False):
    """A pandas DataFrame of the claims for display: claim, kind, source, paper, ours,
    criterion, control, preconditions, verdict, scale. With ``link``, the claim text links to
    its chapter section (Markdown)."""
    import pandas as pd

    rows = []
    for c in claims:
        text = c.statement
        if link:
            target = f"chapters/{c.chapter}.html" + (f"#{c.section}" if c.section else "")
            text = f"[{text}]({target})"
        control = "—"
        if c.control:
            control = f"{c.control_name + ': ' if c.control_name else ''}{c.control.text()}"
            control += " (paired)" if c.paired else ""
        rows.append({"claim": text, "kind": c.kind, "source": c.source, "paper": c.paper or "—",
                     "ours": c.ours.text(), "n": f"{c.ours.n} {c.ours.n_of}".strip(),
                     "criterion": c.criterion.text(), "control": control,
                     "preconditions": c.precondition_text(), "verdict": c.verdict, "scale": c.scale})
    return pd.DataFrame(rows)
