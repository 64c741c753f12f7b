"""Date formats on pages and in emails (SPEC 8): "Wed 25 Nov 2026", never ambiguous across
countries. Django prefers a locale's format module over settings.DATE_FORMAT, so the
project's own module (FORMAT_MODULE_PATH) is the one place these are set, for en-gb and en-us
alike. Files, exports and the command line use ISO dates and do not go through these."""

DATE_FORMAT = "D j M Y"
SHORT_DATE_FORMAT = "D j M Y"
DATETIME_FORMAT = "D j M Y H:i"
SHORT_DATETIME_FORMAT = "D j M Y H:i"
TIME_FORMAT = "H:i"
MONTH_DAY_FORMAT = "j M"
YEAR_MONTH_FORMAT = "M Y"
# Input formats are not set here: forms keep the locale's and ISO (what date inputs send).
