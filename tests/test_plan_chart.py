"""scheduling.plan_chart: the plan's SVG (pure): bars per week, crunch weeks marked in words,
text escaped, labels thinned on long plans, a summary for screen readers."""

from datetime import date, timedelta

from scheduling.plan import PlanWeek
from scheduling.plan_chart import plan_chart, value_step

MONDAY = date(2026, 11, 23)


def weeks(*rows):
    return [PlanWeek(MONDAY + timedelta(weeks=n), *row) for n, row in enumerate(rows)]


def test_no_weeks_no_chart():
    assert plan_chart([]) == ""


def test_bars_and_the_crunch_week_in_words():
    svg = plan_chart(weeks((3, 2, 5, 1), (8, 0, 5, 8), (0, 0, 0, 0)))
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg" id="plan-chart"')
    assert svg.count('class="bar bar-due"') == svg.count('class="bar bar-booked"') == 3
    assert svg.count('class="bar bar-capacity"') == 3
    # Only the second week has more due than capacity (0 due on 0 capacity is no crunch).
    assert svg.count('class="crunch-band"') == 1
    assert svg.count(">Crunch</text>") == 1
    assert "Crunch: week of Mon 30 Nov 2026, 8 due, capacity 5" in svg
    assert "Crunch weeks (more refills due than capacity): week of Mon 30 Nov 2026 (8 due, capacity 5)." in svg
    assert "Week of Mon 23 Nov 2026: refills due 3" in svg
    assert ">23 Nov</text>" in svg and ">30 Nov</text>" in svg


def test_a_plan_without_crunch_says_so():
    svg = plan_chart(weeks((1, 1, 4, 0)))
    assert "No week has more refills due than capacity." in svg
    assert "crunch-band" not in svg


def test_a_long_plan_thins_its_labels_and_shortens_the_crunch_word():
    svg = plan_chart(weeks(*[(9, 0, 4, 9)] * 52))
    # Week labels (centred, ink-coloured) on every fourth week: 13 of 52.
    assert svg.count('text-anchor="middle" font-size="11" fill="#1b2430"') == 13
    assert svg.count('class="crunch-band"') == 52
    assert ">!</text>" in svg  # too narrow for the word; the band's title and the table say it


def test_the_id_and_title_are_escaped():
    svg = plan_chart(weeks((1, 0, 0, 1)), chart_id='x"><script>', title="<b>")
    assert "<script>" not in svg and "&lt;b&gt;" in svg


def test_value_step():
    assert [value_step(n) for n in (1, 5, 6, 12, 40, 130, 900, 4000)] == [1, 1, 2, 5, 10, 50, 200, 1000]
