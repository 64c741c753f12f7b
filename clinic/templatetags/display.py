"""Template filters for SPEC 8 display: ``{{ pump.reservoir_ml|qty }}`` -> "20",
``{{ refill.residual_discrepancy_ml|signed_qty }}`` -> "+4.25", ``{{ day|day }}`` ->
"Wed 25 Nov 2026" (also ``{{ day|date }}``), ``{{ user|member }}`` -> "Morgan Lee"."""

from django import template

from clinic import display

register = template.Library()

register.filter("qty", display.qty)
register.filter("signed_qty", display.signed_qty)
register.filter("day", display.day)
register.filter("day_html", display.day_html)
register.filter("member", display.member_name)
