"""Tests of dmmlib.report: numbers and tables for a reader."""
import math

import pandas as pd

from dmmlib.report import fmt_interval, fmt_number, fmt_p, fmt_percent, html_table, summary_and_details


def test_numbers_have_three_significant_digits():
    assert fmt_number(2.6712) == "2.67"
    assert fmt_number(0.073123) == "0.0731"
    assert fmt_number(1234.5) == "1,230" and fmt_number(123.45) == "123" and fmt_number(12.345) == "12.3"
    assert fmt_number(1.2e-7) == "1.20e-07" and fmt_number(3.4e7) == "3.40e+07"
    assert fmt_number(12000) == "12,000" and fmt_number(7) == "7"
    assert fmt_number(math.nan) == "—" and fmt_number(0.0) == "0"


def test_interval_percent_and_p():
    assert fmt_interval(2.671, 2.611, 2.744) == "2.67 [2.61, 2.74]"
    assert fmt_percent(0.148) == "14.8 %"
    assert fmt_p(3.1e-5) == "3.1e-05" and fmt_p(0.23) == "0.23" and fmt_p(0.0) == "< 1e-300" and fmt_p(math.nan) == "—"


def test_tables_scroll_and_fold():
    df = pd.DataFrame({"quantity": ["R"], "value": [2.67123], "n": [300]})
    html = html_table(df, caption="Table 1").data
    assert 'class="dmm-table"' in html and "2.67" in html and "2.67123" not in html and "Table 1" in html
    both = summary_and_details(df, df, details_title="per seed").data
    assert both.count('class="dmm-table"') == 2 and "<details" in both and "per seed" in both


def test_parameter_values_read_like_the_command_line_not_like_a_repr():
    from dmmlib.report import fmt_value

    assert fmt_value([2, 3]) == "2, 3"
    assert fmt_value({"mnist": 100, "cifar10": 16}) == "mnist: 100, cifar10: 16"
    assert fmt_value({"sgd": [0.005, 0.02], "adam": [0.003]}) == "sgd: [0.005, 0.02]; adam: [0.003]"
    assert fmt_value(0.1 + 0.2) == "0.3" and fmt_value(1e-05) == "1e-05" and fmt_value(100.0) == "100"
    assert fmt_value(0.03137) == "0.03137" and fmt_value(60000) == "60000"
    assert fmt_value(True) == "True" and fmt_value("") == "—" and fmt_value([]) == "—" and fmt_value(None) == "—"
    assert fmt_value(["random", "pca"]) == "random, pca" and fmt_value("jvp") == "jvp"
