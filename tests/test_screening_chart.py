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


def hour_labels(svg: str) -> list[tuple[float, float, str]]:
    """(x, y, text) of each hour label under the axis."""
    labels = []
    for chunk in svg.split('<text class="hour-label" ')[1:]:
        x = float(chunk.split('x="')[1].split('"')[0])
        y = float(chunk.split('y="')[1].split('"')[0])
        labels.append((x, y, chunk.split(">")[1].split("<")[0]))
    return labels


def assert_no_overlap(labels):
    """Labels on one line are further apart than half of each one's width (13 px text, a
    character at most 0.6 em in system-ui) plus a gap: they never touch."""
    for y in {label[1] for label in labels}:
        line = sorted((x, text) for x, ly, text in labels if ly == y)
        for (x1, t1), (x2, t2) in zip(line, line[1:], strict=False):
            assert x2 - x1 >= (len(t1) + len(t2)) / 2 * 13 * 0.6 + 4, (t1, t2, x2 - x1)


def test_hour_labels_never_overlap_and_close_ones_take_a_second_line():
    """The explorer's trial (1, 2, 4, 6, 8 and 12 h): "before" and "1 h" ran together."""
    times = ["1", "2", "4", "6", "8", "12"]
    svg = mas_chart(trial([(h, {"a": "2", "b": "1"}) for h in times]), LABELS)
    labels = hour_labels(svg)
    assert [text for _x, _y, text in sorted(labels)] == ["before"] + [f"{h} h" for h in times]  # every one shown
    assert_no_overlap(labels)
    assert len({y for _x, y, _t in labels}) == 2  # "1 h" under the others
    assert svg.count('class="tick"') == 7


def test_dense_hours_leave_out_labels_that_fit_nowhere_but_keep_their_ticks():
    times = [str(Decimal(n) / 2) for n in range(1, 49)]  # every half hour for 24 h
    svg = mas_chart(trial([(h, {"a": "2"}) for h in times]), LABELS)
    labels = hour_labels(svg)
    assert_no_overlap(labels)
    texts = [text for _x, _y, text in labels]
    assert "before" in texts and "24 h" in texts and len(texts) < 49
    assert svg.count('class="tick"') == 49


def test_spread_hours_stay_on_one_line():
    svg = mas_chart(trial([("4", {"a": "2"}), ("8", {"a": "1"})]), LABELS)
    labels = hour_labels(svg)
    assert [text for _x, _y, text in labels] == ["before", "4 h", "8 h"]
    assert len({y for _x, y, _t in labels}) == 1


def test_a_single_early_time_point_goes_under_before():
    svg = mas_chart(trial([("0.25", {"a": "2"})]), LABELS)
    labels = hour_labels(svg)
    assert [text for _x, _y, text in labels] == ["before", "0.25 h"]
    assert_no_overlap(labels)
    assert len({y for _x, y, _t in labels}) == 2
