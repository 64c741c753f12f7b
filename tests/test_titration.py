"""Titration after an implant (screening/titration.py and screening/titration_chart.py): the
dose over time from the fill events, the mean MAS of a review, the chart and its table."""

import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest

from screening.models_titration import TitrationReview
from screening.titration import dose_on, dose_steps, mas_mean, mas_sum, review_point, table_rows, titration
from screening.titration_chart import DoseStep, ReviewPoint, titration_chart
from tests.factories import ProgramChangeFactory, PumpFactory, RefillFactory


def refill(day, dose, initial=False, pk=1):
    return SimpleNamespace(performed_on=day, daily_dose_mcg=Decimal(dose), is_initial_fill=initial, pk=pk)


def change(day, dose, pk=1):
    return SimpleNamespace(performed_on=day, daily_dose_mcg=None if dose is None else Decimal(dose), pk=pk)


def test_mas_mean_counts_1_plus_as_one_and_a_half():
    assert mas_mean({"a": "1+", "b": "2"}) == Decimal("1.75")
    assert mas_mean({"a": "4", "b": "0", "c": "1"}) == Decimal("1.67")
    assert mas_sum({"a": "1+", "b": "2"}) == Decimal("3.5")
    assert mas_mean({}) is None


def test_dose_steps_from_refills_and_program_changes():
    steps = dose_steps(
        [refill(date(2026, 1, 1), 100, initial=True), refill(date(2026, 4, 1), 200)],
        [change(date(2026, 1, 15), 150), change(date(2026, 2, 1), None), change(date(2026, 4, 1), 250)],
    )
    assert [(s.day, s.dose_mcg, s.source) for s in steps] == [
        (date(2026, 1, 1), Decimal(100), "first_fill"),
        (date(2026, 1, 15), Decimal(150), "program_change"),
        # The refill of 1 Apr kept 200, the program change the same day set 250: the day's last word.
        (date(2026, 4, 1), Decimal(250), "program_change"),
    ]


def test_a_refill_at_the_same_dose_is_not_a_step():
    steps = dose_steps([refill(date(2026, 1, 1), 100, True), refill(date(2026, 3, 1), 100)], [])
    assert len(steps) == 1
    assert dose_on(steps, date(2025, 12, 31)) is None
    assert dose_on(steps, date(2026, 5, 1)) == Decimal(100)


def review(day, mas, penn=None, pk=1):
    return TitrationReview(pk=pk, reviewed_on=day, mas=mas, penn_score=penn)


def test_table_rows_put_each_review_with_the_dose_in_force():
    steps = [DoseStep(date(2026, 1, 1), Decimal(100), "first_fill"), DoseStep(date(2026, 2, 1), Decimal(150))]
    rows = table_rows(
        steps,
        [review(date(2026, 1, 20), {"a": "3", "b": "2"}, 3), review(date(2026, 2, 1), {"a": "2"}, pk=2)],
    )
    assert [(r.day, r.dose_mcg, r.dose_changed, r.mas_mean, r.penn) for r in rows] == [
        (date(2026, 2, 1), Decimal(150), True, Decimal(2), None),
        (date(2026, 1, 20), Decimal(100), False, Decimal("2.5"), 3),
        (date(2026, 1, 1), Decimal(100), True, None, None),
    ]


def parse(svg):
    return ET.fromstring(str(svg))  # noqa: S314 - the app's own output, in a test


def by_class(svg, css_class):
    return [e for e in parse(svg).iter() if e.get("class") == css_class]


def chart():
    steps = [DoseStep(date(2026, 1, 1), Decimal(100)), DoseStep(date(2026, 3, 1), Decimal(200))]
    reviews = [
        ReviewPoint(date(2026, 1, 1), Decimal(3), 4, 4),
        ReviewPoint(date(2026, 3, 1), Decimal("1.5"), 4, 2),
        ReviewPoint(date(2026, 5, 1), Decimal(1), 4, None),
    ]
    return titration_chart(steps, reviews, start=date(2026, 1, 1), today=date(2026, 5, 10))


def test_chart_draws_the_dose_as_steps_and_the_scores_as_points():
    svg = chart()
    (line,) = by_class(svg, "dose-line")
    points = [tuple(map(float, p.split(","))) for p in line.get("points").split()]
    # Two steps, each held to the next (or the window's end): four corners, flat pieces.
    assert len(points) == 4 and points[0][1] == points[1][1] and points[2][1] == points[3][1]
    assert points[2][1] < points[0][1]  # 200 drawn above 100
    assert len(by_class(svg, "mas-point")) == 3
    assert len(by_class(svg, "penn-point")) == 2  # the last review has no Penn score
    mas = [float(c.get("cy")) for c in by_class(svg, "mas-point")]
    # Scores 0-4 over 220 px from y=20: 3 sits at 20 + 220/4 = 75, 1.5 at 157.5, 1 at 185.
    assert mas == [75.0, 157.5, 185.0]


def test_chart_speaks_in_words():
    svg = parse(chart())
    ns = "{http://www.w3.org/2000/svg}"
    assert svg.get("role") == "img"
    desc = svg.find(f"{ns}desc").text
    assert "100 mcg/day from Thu 1 Jan 2026" in desc
    assert "Sun 1 Mar 2026 mean MAS 1.5 and Penn 2" in desc


def test_no_dose_and_no_review_is_no_chart():
    assert str(titration_chart([], [], start=date(2026, 1, 1), today=date(2026, 1, 2))) == ""


def test_review_point_ignores_unscored_groups():
    point = review_point(review(date(2026, 1, 1), {"a": "2", "b": ""}, 1))
    assert (point.mas_mean, point.groups, point.penn) == (Decimal(2), 1, 1)


@pytest.mark.django_db
def test_titration_reads_a_pump_in_three_queries(clinic, django_assert_num_queries):
    pump = PumpFactory(patient__clinic=clinic, implant_date=date(2025, 6, 1))
    RefillFactory(pump=pump, performed_on=date(2025, 6, 1), daily_dose_mcg=Decimal(100), is_initial_fill=True)
    ProgramChangeFactory(pump=pump, performed_on=date(2025, 7, 1), daily_dose_mcg=Decimal(160))
    for month in (6, 7, 8):
        TitrationReview.objects.create(pump=pump, reviewed_on=date(2025, month, 20), mas={"hip_adductors_l": "2"})
    with django_assert_num_queries(3):
        result = titration(pump, date(2025, 9, 1))
    assert [s.dose_mcg for s in result["steps"]] == [Decimal(100), Decimal(160)]
    assert len(result["reviews"]) == 3
    assert 'id="titration-chart-' in str(result["chart"])


def test_the_highest_dose_has_headroom():
    svg = titration_chart(
        [DoseStep(date(2026, 1, 1), Decimal(100))], [], start=date(2026, 1, 1), today=date(2026, 1, 2)
    )
    (line,) = by_class(svg, "dose-line")
    y = float(line.get("points").split()[0].split(",")[1])
    assert y > 20 + 220 * 0.1  # below the top edge (y=20) by at least a tenth of the plot
