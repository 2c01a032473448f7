"""Tests of dmmlib.claims: verdicts from intervals and thresholds, controls, the ledger."""
import math

import pytest

from dmmlib.claims import (Claim, Criterion, Estimate, claim, counts, from_json, ledger_markdown, table,
                           to_json)


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
    c = claim("demo.x", "x is positive", source="s", ours=est(math.nan, math.nan, math.nan),
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
        claim("nodot", "s", source="s", ours=est(1, 0, 2), criterion=Criterion(">", 0), scale="")


def test_a_control_that_passes_makes_the_check_inconclusive():
    crit = Criterion(">", 30.0, meaning="degrees")
    passing_control = claim("demo.a", "angle large", source="s", ours=est(60, 55, 65), criterion=crit,
                            scale="", control=est(50, 45, 55), control_name="random direction")
    assert passing_control.verdict == "inconclusive" and "random direction" in passing_control.reason
    failing_control = claim("demo.b", "angle large", source="s", ours=est(60, 55, 65), criterion=crit,
                            scale="", control=est(10, 5, 15), control_name="random direction")
    assert failing_control.verdict == "supports" and "fails it" in failing_control.reason
    undecided_control = claim("demo.c", "angle large", source="s", ours=est(60, 55, 65), criterion=crit,
                              scale="", control=est(30, 20, 40))
    assert undecided_control.verdict == "inconclusive"
    # a control never rescues a claim that fails
    assert claim("demo.d", "angle large", source="s", ours=est(10, 5, 15), criterion=crit, scale="",
                 control=est(10, 5, 15)).verdict == "contradicts"


def test_json_round_trip_and_duplicates():
    cs = [claim("demo.a", "a", source="DMM §6", ours=est(1, 0.5, 1.5), criterion=Criterion(">", 0.2), scale="quick",
                paper="0.9", section="sec-a", control=est(0, -0.1, 0.1)),
          claim("demo.b", "b", source="DMM §7", ours=est(1, 0.5, 1.5), criterion=Criterion("within", 0.9, 1.1),
                scale="quick")]
    back = from_json(to_json(cs))
    assert back == cs and all(isinstance(c, Claim) for c in back)
    with pytest.raises(ValueError, match="duplicate"):
        to_json([cs[0], cs[0]])


def test_ledger_follows_the_numbers():
    def ledger(value):
        c = claim("demo.fast", "clinging is fast", source="DMM §6", ours=est(value, value - 0.05, value + 0.05),
                  criterion=Criterion(">", 0.5), scale="quick", section="sec-fast")
        return ledger_markdown([c])

    above, below = ledger(0.8), ledger(0.2)
    assert "**supports**" in above and "1 supported" in above
    assert "**contradicts**" in below and "1 contradicted" in below
    assert "{ref}`clinging is fast <sec-fast>`" in above
    assert "No chapter" in ledger_markdown([])


def test_counts_and_table():
    cs = [claim(f"demo.{i}", "s", source="s", ours=est(v, v - 0.1, v + 0.1), criterion=Criterion(">", 0.5), scale="")
          for i, v in enumerate([0.9, 0.1, 0.5])]
    assert counts(cs) == {"supports": 1, "contradicts": 1, "inconclusive": 1}
    df = table(cs)
    assert list(df["verdict"]) == ["supports", "contradicts", "inconclusive"]
    assert df["ours"][0] == "0.900 [0.800, 1.00]"
