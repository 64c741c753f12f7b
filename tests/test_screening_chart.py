"""screening/chart.py: the MAS-over-hours SVG of a trial (pure, escaped, readable without it)."""

from decimal import Decimal

from screening.chart import mas_chart
from screening.engine import TimePoint, Trial

LABELS = {"a": "Hip adductors, left", "b": 'Knee <extensors> & "right"'}


def trial(after):
    return Trial(
        dose_mcg=Decimal(50),
        before={"a": "3", "b": "1+"},
        after=tuple(TimePoint(Decimal(h), s) for h, s in after),
    )


def test_one_line_per_group_with_points_at_each_time():
    svg = mas_chart(trial([("2", {"a": "1", "b": "1"}), ("6", {"a": "2", "b": "1+"})]), LABELS, chart_id="c1")
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg" id="c1"')
    assert svg.count('class="group-line"') == 2
    # before (0 h) and two time points per group
    assert svg.count("<circle") == 6
    assert 'aria-describedby="c1-desc"' in svg
    assert "Hip adductors, left: 3 before, 1 at 2 h, 2 at 6 h." in svg
    assert ">8 h<" in svg  # the 8-hour mark of the dose rule, shown when the span reaches it


def test_higher_scores_are_drawn_higher_and_1_plus_between_1_and_2():
    svg = mas_chart(trial([("4", {"a": "1+"})]), {"a": "A"}, chart_id="c2")
    points = svg.split('class="group-line" points="')[1].split('"')[0].split()
    (x0, y0), (x1, y1) = (tuple(map(float, p.split(","))) for p in points)
    assert x0 < x1 and y0 < y1  # 3 before is above 1+ after (SVG y grows downwards)
    # 1+ lies between the gridlines of 1 and 2.
    grid = {}
    for label in ("1", "2"):
        marker = f'text-anchor="end" font-size="13" fill="#1b2430">{label}</text>'
        before = svg.split(marker)[0].rsplit('y="', 1)[1]
        grid[label] = float(before.split('"')[0]) - 4
    assert grid["2"] < y1 < grid["1"]


def test_labels_are_escaped_and_nothing_without_scores():
    svg = mas_chart(trial([("2", {"b": "1"})]), LABELS)
    assert "&lt;extensors&gt; &amp; &quot;right&quot;" in svg and "<extensors>" not in svg
    assert mas_chart(Trial(dose_mcg=Decimal(50), before={"a": "2"}), LABELS) == ""
