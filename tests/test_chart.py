"""The server-side SVG chart of a pump's projected reservoir volume."""

import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from records.chart import ChartFill, Frame, projection_points, reservoir_chart
from records.pages import pump_chart
from refills.schedule import FillCycle, RateChange, planning_rate
from tests.factories import ProgramChangeFactory, PumpFactory, RefillFactory

SVG = "{http://www.w3.org/2000/svg}"
RATE = planning_rate(Decimal(400), Decimal(0), Decimal(2000))  # 0.2 mL/day


def spec_example(**kwargs):
    """SPEC section 3: 20 mL at 2000 mcg/mL and 400 mcg/day from 2026-01-01, alarm at 2 mL."""
    cycle = FillCycle.build(date(2026, 1, 1), Decimal(20), RATE)
    options = {
        "reservoir_ml": Decimal(20),
        "alarm_volume_ml": Decimal(2),
        "today": date(2026, 3, 1),
        "refill_due": date(2026, 3, 25),
        "alarm_date": date(2026, 4, 1),
    }
    options.update(kwargs)
    return reservoir_chart([ChartFill(cycle)], **options)


def parse(svg):
    return ET.fromstring(str(svg))  # noqa: S314 - the app's own output, in a test


def elements(svg, css_class):
    root = parse(svg)
    return [e for e in root.iter() if e.get("class") == css_class]


def test_alarm_line_is_drawn_at_the_alarm_volume():
    (alarm,) = elements(spec_example(), "alarm-line")
    # 20 mL axis over 220 px from y=30: 2 mL sits 9/10 of the way down.
    assert alarm.get("y1") == alarm.get("y2") == "228.0"
    assert alarm.find(f"{SVG}title").text == "Alarm 2 mL"


def test_alarm_line_follows_a_higher_alarm_volume():
    (alarm,) = elements(spec_example(alarm_volume_ml=Decimal(4)), "alarm-line")
    assert alarm.get("y1") == "206.0"


def test_today_and_refill_due_markers_sit_on_their_dates():
    svg = spec_example()
    frame = Frame(date(2026, 1, 1), date(2026, 4, 12), Fraction(20))  # alarm date + 11 days margin
    (today,) = elements(svg, "today-marker")
    (due,) = elements(svg, "refill-due-marker")
    assert today.get("x1") == f"{frame.x(date(2026, 3, 1)):.1f}" == "476.6"
    assert due.get("x1") == f"{frame.x(date(2026, 3, 25)):.1f}"
    assert "Today Sun 1 Mar 2026" in str(svg) and "Refill due Wed 25 Mar 2026" in str(svg)


def test_points_for_fills_and_residuals():
    first = FillCycle.build(date(2025, 10, 1), Decimal(20), RATE)
    second = FillCycle.build(date(2026, 1, 1), Decimal(18), RATE)
    svg = reservoir_chart(
        [ChartFill(first), ChartFill(second, actual_residual_ml=Decimal("5.0"))],
        reservoir_ml=Decimal(20),
        alarm_volume_ml=Decimal(2),
        today=date(2026, 1, 10),
        refill_due=date(2026, 3, 15),
        alarm_date=date(2026, 3, 22),
    )
    points = elements(svg, "fill-point")
    assert [p.get("cy") for p in points] == ["30.0", f"{30 + 220 * (1 - 18 / 20):.1f}"]
    (residual,) = elements(svg, "residual-point")
    assert residual.get("cy") == "195.0"  # 5 mL of 20
    assert len(elements(svg, "fill-marker")) == 2
    assert len(elements(svg, "projection")) == 2


def test_projection_bends_at_program_change_and_stops_at_zero():
    change = RateChange(date(2026, 2, 1), planning_rate(Decimal(500), Decimal(0), Decimal(2000)))
    cycle = FillCycle.build(date(2026, 1, 1), Decimal(20), RATE, [change])
    points = projection_points(cycle, date(2026, 4, 30))
    # 31 days at 0.2 mL/day leave 13.8 mL; then 0.25 mL/day runs dry 55.2 days later.
    assert points == [
        (0, 20),
        (31, Fraction("13.8")),
        (31 + Fraction("55.2"), 0),
        ((date(2026, 4, 30) - date(2026, 1, 1)).days, 0),
    ]


def test_projection_ends_at_the_next_fill():
    cycle = FillCycle.build(date(2026, 1, 1), Decimal(20), RATE)
    assert projection_points(cycle, date(2026, 1, 11)) == [(0, 20), (10, 18)]


def test_program_change_marker():
    svg = spec_example(change_dates=[date(2026, 2, 1), date(2020, 1, 1)])
    (marker,) = elements(svg, "change-marker")  # the one outside the window is left out
    assert marker.find(f"{SVG}title").text == "Program change Sun 1 Feb 2026"


def test_accessible_title_description_and_legend():
    svg = spec_example()
    root = parse(svg)
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Projected reservoir volume"
    assert root.find(f"{SVG}title").text == "Projected reservoir volume"
    desc = root.find(f"{SVG}desc").text
    assert "Alarm date Wed 1 Apr 2026." in desc and "Refill due Wed 25 Mar 2026." in desc
    legend = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "legend-label"]
    assert legend == [
        "Projected volume",
        "Fill",
        "Residual found",
        "Program change",
        "Alarm volume",
        "Today",
        "Refill due",
    ]
    assert "0 mL" in [t.text for t in root.iter(f"{SVG}text")] and "Feb" in str(svg)


def test_text_is_escaped():
    svg = spec_example(title='Pump <script>alert("x")</script>', chart_id='a"b')
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    parse(svg)  # still well-formed


def test_no_fill_no_chart():
    assert spec_example() != ""
    assert reservoir_chart([], reservoir_ml=20, alarm_volume_ml=2, today=date(2026, 1, 1)) == ""


@pytest.mark.django_db
def test_pump_chart_shows_the_last_three_fills_and_changes(clinic):
    pump = PumpFactory(patient__clinic=clinic, implant_date=date(2025, 1, 1))
    for day in (date(2025, 1, 1), date(2025, 4, 1), date(2025, 7, 1), date(2025, 10, 1)):
        RefillFactory(pump=pump, performed_on=day, volume_removed_ml=Decimal("2"))
    ProgramChangeFactory(pump=pump, performed_on=date(2025, 11, 1), daily_dose_mcg=Decimal(500))
    pump.refresh_from_db()
    svg = pump_chart(pump, date(2025, 11, 15))
    fills = [p.find(f"{SVG}title").text for p in elements(svg, "fill-point")]
    assert fills == [
        "Fill Tue 1 Apr 2025: 20 mL after refill",
        "Fill Tue 1 Jul 2025: 20 mL after refill",
        "Fill Wed 1 Oct 2025: 20 mL after refill",
    ]
    assert len(elements(svg, "residual-point")) == 3
    assert len(elements(svg, "change-marker")) == 1
    due = pump.refill_due
    assert f"Refill due {due:%a} {due.day} {due:%b %Y}" in svg  # SPEC 8 dates
