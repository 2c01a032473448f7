"""Tests of dmmlib.claims: verdicts from intervals and thresholds, controls, the ledger."""
import math

import pytest

import numpy as np

from dmmlib.claims import (KINDS, VERDICTS, Claim, Criterion, Estimate, chance_flips, claim, compare, counts,
                           counts_by_kind, from_json, precondition, table, to_json)
from dmmlib.ledger import ledger_markdown, setup_rows


def est(value, lo, hi, n=10):
    return Estimate(value, lo, hi, n, "seeds")


@pytest.mark.parametrize("direction, interval, verdict", [
    (">", (0.8, 0.6, 0.9), "supports"),
    (">", (0.3, 0.1, 0.4), "contradicts"),
    (">", (0.5, 0.4, 0.6), "inconclusive"),
    ("<", (0.3, 0.1, 0.4), "supports"),
    ("<", (0.8, 0.6, 0.9), "contradicts"),
    ("<", (0.45, 0.4, 0.6), "inconclusive"),
])
def test_one_sided_verdicts(direction, interval, verdict):
    assert Criterion(direction, 0.5).judge(est(*interval)) == verdict


@pytest.mark.parametrize("direction, interval, verdict", [
    ("within", (1.0, 0.95, 1.05), "supports"),
    ("within", (2.0, 1.5, 2.5), "contradicts"),
    ("within", (1.1, 1.0, 1.3), "inconclusive"),
    ("outside", (2.0, 1.5, 2.5), "supports"),
    ("outside", (1.0, 0.95, 1.05), "contradicts"),
])
def test_band_verdicts(direction, interval, verdict):
    assert Criterion(direction, 0.9, upper=1.1).judge(est(*interval)) == verdict


def test_undefined_interval_is_inconclusive():
    assert Criterion(">", 0.0).judge(est(1.0, math.nan, 2.0)) == "inconclusive"
    c = claim("demo.x", "x is positive", kind="extension", source="s", ours=est(math.nan, math.nan, math.nan),
              criterion=Criterion(">", 0.0), scale="smoke")
    assert c.verdict == "inconclusive" and "undefined" in c.reason


def test_bad_criteria_are_refused():
    with pytest.raises(ValueError, match="direction"):
        Criterion(">=", 1.0)
    with pytest.raises(ValueError, match="needs upper"):
        Criterion("within", 1.0)
    with pytest.raises(ValueError, match="empty"):
        Criterion("within", 2.0, upper=1.0)
    with pytest.raises(ValueError, match="chapter"):
        claim("nodot", "s", kind="extension", source="s", ours=est(1, 0, 2), criterion=Criterion(">", 0), scale="")


def test_a_control_that_passes_makes_the_check_inconclusive():
    crit = Criterion(">", 30.0, meaning="degrees")
    passing_control = claim("demo.a", "angle large", kind="extension", source="s", ours=est(60, 55, 65), criterion=crit,
                            scale="", control=est(50, 45, 55), control_name="random direction")
    assert passing_control.verdict == "inconclusive" and "random direction" in passing_control.reason
    failing_control = claim("demo.b", "angle large", kind="extension", source="s", ours=est(60, 55, 65), criterion=crit,
                            scale="", control=est(10, 5, 15), control_name="random direction")
    assert failing_control.verdict == "supports" and "fails it" in failing_control.reason
    undecided_control = claim("demo.c", "angle large", kind="extension", source="s", ours=est(60, 55, 65), criterion=crit,
                              scale="", control=est(30, 20, 40))
    assert undecided_control.verdict == "inconclusive"
    # a control never rescues a claim that fails
    assert claim("demo.d", "angle large", kind="extension", source="s", ours=est(10, 5, 15), criterion=crit, scale="",
                 control=est(10, 5, 15)).verdict == "contradicts"


def test_json_round_trip_and_duplicates():
    cs = [claim("demo.a", "a", kind="extension", source="DMM §6", ours=est(1, 0.5, 1.5), criterion=Criterion(">", 0.2), scale="quick",
                paper="0.9", section="sec-a", control=est(0, -0.1, 0.1)),
          claim("demo.b", "b", kind="extension", source="DMM §7", ours=est(1, 0.5, 1.5), criterion=Criterion("within", 0.9, 1.1),
                scale="quick")]
    back = from_json(to_json(cs))
    assert back == cs and all(isinstance(c, Claim) for c in back)
    with pytest.raises(ValueError, match="duplicate"):
        to_json([cs[0], cs[0]])


def test_ledger_follows_the_numbers():
    def ledger(value):
        c = claim("demo.fast", "clinging is fast", kind="extension", source="DMM §6", ours=est(value, value - 0.05, value + 0.05),
                  criterion=Criterion(">", 0.5), scale="quick", section="sec-fast")
        return ledger_markdown([c])

    above, below = ledger(0.8), ledger(0.2)
    assert "<b>supports</b>" in above and "1 supported" in above
    assert "<b>contradicts</b>" in below and "1 contradicted" in below
    assert 'href="chapters/demo.html#sec-fast">clinging is fast</a>' in above
    assert "No chapter" in ledger_markdown([])


def test_counts_and_table():
    cs = [claim(f"demo.{i}", "s", kind="extension", source="s", ours=est(v, v - 0.1, v + 0.1), criterion=Criterion(">", 0.5), scale="")
          for i, v in enumerate([0.9, 0.1, 0.5])]
    assert counts(cs) == {"supports": 1, "contradicts": 1, "inconclusive": 1, "not tested": 0}
    df = table(cs)
    assert list(df["verdict"]) == ["supports", "contradicts", "inconclusive"]
    assert df["ours"][0] == "0.900 [0.800, 1.00]"


# --- preconditions, the fourth verdict, kinds ---------------------------------------------------

ACCURACY = dict(paper="98 % (App. G.1)")


def accuracy_claim(accuracy, value=0.8, **kw):
    """A claim that rests on the classifier's accuracy (needs > 0.97)."""
    return claim("demo.rests", "the effect is large", kind="paper", quote="“the effect is large”", source="DMM §7",
                 ours=est(value, value - 0.05, value + 0.05), criterion=Criterion(">", 0.5), scale="quick",
                 preconditions=[precondition("classifier test accuracy", accuracy, ">", 0.97, **ACCURACY)], **kw)


@pytest.mark.parametrize("value", [0.8, 0.2, 0.5])
def test_a_failed_precondition_means_not_tested_whatever_the_estimate(value):
    c = accuracy_claim(0.955, value)
    assert c.verdict == "not tested" and not c.tested
    assert "classifier test accuracy 0.955" in c.reason and "> 0.97" in c.reason and "98 % (App. G.1)" in c.reason
    assert c.precondition_text().startswith("failed: classifier test accuracy 0.955")


@pytest.mark.parametrize("value, verdict", [(0.8, "supports"), (0.2, "contradicts"), (0.5, "inconclusive")])
def test_met_preconditions_leave_the_verdict_to_the_estimate(value, verdict):
    c = accuracy_claim(0.981, value)
    assert c.tested and c.verdict == verdict and c.precondition_text() == "all 1 met"


def test_an_unmeasured_precondition_fails_and_bands_work():
    assert accuracy_claim(math.nan).verdict == "not tested"
    band = precondition("attack success rate", 0.95, "within", 0.9, upper=1.0)
    assert band.met and not precondition("attack success rate", 0.74, "within", 0.9, upper=1.0).met
    assert precondition("relative change of the validation loss", 0.001, "<", 0.01).met
    with pytest.raises(TypeError, match="number"):
        precondition("x", "high", ">", 1)
    with pytest.raises(ValueError, match="name"):
        precondition("", 1.0, ">", 0)


def test_kinds_are_required_and_quoted_kinds_quote():
    common = dict(source="DMM §7", ours=est(1, 0.5, 1.5), criterion=Criterion(">", 0), scale="")
    with pytest.raises(ValueError, match="kind"):
        claim("demo.k", "s", kind="hunch", **common)
    for kind in ("paper", "companion", "notes"):
        with pytest.raises(ValueError, match="quote"):
            claim("demo.k", "s", kind=kind, **common)
    for kind in ("extension", "protocol"):
        assert claim("demo.k", "s", kind=kind, **common).kind == kind
    with pytest.raises(TypeError, match="Precondition"):
        claim("demo.k", "s", kind="extension", preconditions=[("accuracy", 0.9)], **common)


def test_preconditions_round_trip_and_reach_the_ledger():
    cs = [accuracy_claim(0.955), accuracy_claim(0.99, 0.2),
          claim("other.p", "protocol", kind="protocol", source="DMM App. F", ours=est(1, 0.5, 1.5),
                criterion=Criterion(">", 0.2), scale="quick")]
    cs[1] = claim("demo2.rests", cs[1].statement, kind="paper", quote=cs[1].quote, source=cs[1].source, ours=cs[1].ours,
                  criterion=cs[1].criterion, scale="quick", preconditions=cs[1].preconditions)
    back = from_json(to_json(cs))
    assert back == cs and back[0].preconditions[0].paper == "98 % (App. G.1)"
    assert counts(cs) == {"supports": 1, "contradicts": 1, "inconclusive": 0, "not tested": 1}
    assert counts_by_kind(cs) == {"paper": {"supports": 0, "contradicts": 1, "inconclusive": 0, "not tested": 1},
                                  "protocol": {"supports": 1, "contradicts": 0, "inconclusive": 0, "not tested": 0}}
    md = ledger_markdown(cs, {"demo": "A demo chapter"})
    assert "1 not tested" in md and "<b>not tested</b>" in md and 'data-verdict="not tested"' in md
    assert "<td>paper</td><td>the DMM paper" in md and "<td>protocol</td>" in md  # the tally per kind
    assert "A demo chapter (1 claims: 1 not tested)" in md  # a folded section per chapter
    assert "Setup checks: 2 conditions the verdicts rest on, 1 not met" in md and "classifier test accuracy" in md
    assert 'data-filter="kind" value="protocol"' in md and 'data-filter="verdict" value="not tested"' in md
    rows = setup_rows(cs)
    assert [r["met"] for r in rows] == ["no", "yes"] and all(r["claims"] == 1 for r in rows)
    # not tested is never counted among the decided verdicts, nor in the chance flips
    assert chance_flips(cs) == pytest.approx(2 * 0.025)
    assert set(table(cs)["preconditions"]) == {"failed: " + cs[0].preconditions[0].text(), "all 1 met", "none declared"}
    assert VERDICTS[-1] == "not tested" and set(KINDS) == {"paper", "companion", "notes", "extension", "protocol"}


# --- controls as paired, one-sided comparisons ---------------------------------------------------

def test_compare_is_a_paired_difference_or_ratio():
    rng = np.random.default_rng(0)
    base = rng.uniform(1, 2, 200)
    ours = base * 0.5 + rng.normal(0, 0.01, 200)  # half the control's value, image by image
    d = compare(ours, base, n_of="images")
    assert d.value == pytest.approx(ours.mean() - base.mean()) and d.hi < 0 and d.n == 200 and d.n_of == "images"
    r = compare(ours, base, statistic="ratio")
    assert r.value == pytest.approx(ours.mean() / base.mean()) and r.lo < 0.5 < r.hi
    # pairing: a per-image offset shared by both arms does not widen the interval
    shared = rng.normal(0, 5, 200)
    paired = compare(ours + shared, base + shared)
    assert paired.hi - paired.lo < 0.05
    h = compare(ours, base, units=np.repeat(np.arange(5), 40))
    assert h.lo <= h.value <= h.hi and "5 units" in h.n_of
    with pytest.raises(ValueError, match="statistic"):
        compare(ours, base, statistic="mean")
    with pytest.raises(ValueError, match="paired"):
        compare(ours, base[:10])


def test_a_paired_control_comparison_is_one_sided():
    """"The perturbation lies *less* in the tangent space than in a random subspace": a ratio
    tangent / random well above 1 is the opposite of the claim, so it contradicts it (a
    two-sided "outside [0.9, 1.1]" band would have counted it as support)."""
    rng = np.random.default_rng(1)
    random_share = rng.uniform(0.1, 0.2, 100)
    control = compare(random_share, random_share, statistic="ratio")

    def less_than_random(tangent_share):
        return claim("demo.less", "the perturbation lies less in the tangent space than in a random one",
                     kind="paper", quote="“q”", source="DMM §7", scale="quick",
                     ours=compare(tangent_share, random_share, statistic="ratio", n_of="images"),
                     criterion=Criterion("<", 1.0, meaning="less than a random subspace of the same dimension"),
                     control=Estimate(float(random_share.mean()), 0.14, 0.16, 100), control_name="random subspace",
                     paired=True)

    more = less_than_random(random_share * 1.5)
    assert more.verdict == "contradicts"
    less = less_than_random(random_share * 0.5)
    assert less.verdict == "supports" and "paired with the control (random subspace" in less.reason
    same = less_than_random(random_share * rng.uniform(0.95, 1.05, 100))
    assert same.verdict == "inconclusive" and control.value == pytest.approx(1.0)
    with pytest.raises(ValueError, match="paired"):
        claim("demo.p", "s", kind="extension", source="s", ours=est(1, 0.5, 1.5), criterion=Criterion(">", 0),
              scale="", paired=True)


def test_findings_say_what_holds_fails_and_why_the_rest_was_not_tested():
    from dmmlib.ledger import findings_markdown

    holds = claim("demo.holds", "the boundary clings (share)", kind="paper", quote="“q”", source="DMM §3",
                  ours=est(0.8, 0.7, 0.9), criterion=Criterion(">", 0.5), scale="quick; 3 seeds", section="sec-x")
    fails = claim("demo.fails", "the gradient is perpendicular", kind="paper", quote="“q”", source="DMM §3",
                  ours=est(0.2, 0.1, 0.3), criterion=Criterion(">", 0.5), scale="quick; 3 seeds")
    md = findings_markdown([holds, fails, accuracy_claim(0.955)], {"demo": "Demo"})
    assert "profile `quick`" in md and "3 claims: 1 hold, 1 fail, 0 are undecided" in md
    assert '- Hold: <a href="chapters/demo.html#sec-x">the boundary clings</a>.' in md
    assert '- Fail: <a href="chapters/demo.html">the gradient is perpendicular</a>.' in md
    assert "classifier test accuracy (1 claims)" in md and '<a href="chapters/demo.html">Demo</a>' in md
    # the chapter table comes right under the tally, with the counts by kind
    assert md.index("<table>") < md.index("The DMM paper's own claims")
    assert "<td>paper 3</td>" in md  # accuracy_claim is a paper claim too


def test_a_chapter_page_opens_with_what_its_claims_find():
    from dmmlib.ledger import chapter_findings_markdown

    holds = claim("demo.holds", "the boundary clings (share)", kind="paper", quote="“q”", source="DMM §3",
                  ours=est(0.8, 0.7, 0.9), criterion=Criterion(">", 0.5), scale="smoke; 3 seeds", section="sec-x")
    fails = claim("demo.fails", "the gradient is perpendicular", kind="paper", quote="“q”", source="DMM §3",
                  ours=est(0.2, 0.1, 0.3), criterion=Criterion(">", 0.5), scale="smoke; 3 seeds", section="Sec Y")
    open_ = claim("demo.open", "the dimples are shallow", kind="extension", source="book",
                  ours=est(0.5, 0.4, 0.6), criterion=Criterion(">", 0.5), scale="smoke")
    weak = accuracy_claim(0.955).preconditions  # classifier test accuracy 0.955, needs > 0.97
    untested = [claim(f"demo.rests{i}", text, kind="extension", source="book", ours=est(0.8, 0.7, 0.9),
                      criterion=Criterion(">", 0.5), scale="smoke", section="sec-z", preconditions=weak)
                for i, text in enumerate(("the effect is large", "another effect"))]
    md = chapter_findings_markdown([holds, fails, open_, *untested])
    assert md.startswith("This run (profile `smoke`) tests 5 claims: 1 holds, 1 fails, 1 is undecided by its "
                         "interval and 2 are *not tested*.")
    # links stay on the page, to each claim's section (the id Sphinx gives the label)
    assert '- **Supported** (1): <a href="#sec-x">the boundary clings</a>.' in md
    assert '- **Contradicted** (1): <a href="#sec-y">the gradient is perpendicular</a>.' in md
    assert "- **Inconclusive (the interval straddles the threshold)** (1): the dimples are shallow." in md
    # the not-tested claims grouped by the precondition that failed, with its value and threshold
    assert "- **Not tested** (2)" in md
    assert ('  - classifier test accuracy 0.955 (needs &gt; 0.970): <a href="#sec-z">the effect is large</a>; '
            '<a href="#sec-z">another effect</a>.') in md
    assert "chapters/" not in md
    assert "no claims" in chapter_findings_markdown([])
