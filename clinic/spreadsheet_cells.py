"""Text cells that a spreadsheet would run as a formula (OWASP "CSV injection"), both ways.

Every export (the whole-clinic file, the list exports, the appointments CSV and the
caseload report's CSV) writes its text cells through ``spreadsheet_safe``; the import
reads them back through ``unquote``, so a round trip restores the original text.
Only text is touched: a number (a signed discrepancy, days to due) stays a number.
"""

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

# A cell starting with one of these is evaluated by Excel, LibreOffice or Google Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def needs_quote(text: str) -> bool:
    """Text a spreadsheet would evaluate, or text that already looks like a quoted one
    (``'=x`` becomes ``''=x``, so that ``unquote`` gives it back unchanged)."""
    return text.lstrip(QUOTE).startswith(FORMULA_STARTS)


def spreadsheet_safe(value):
    """A cell value for CSV or XLSX: text gets one leading quote if a spreadsheet would run it,
    and loses the control characters XLSX cannot hold; any other value is returned as it is."""
    if not isinstance(value, str):
        return value
    value = ILLEGAL_CHARACTERS_RE.sub("", value)  # the forms accept them (all but NUL)
    return QUOTE + value if needs_quote(value) else value


def unquote(text: str) -> str:
    """The text ``spreadsheet_safe`` was given: the one quote it added, removed."""
    if text.startswith(QUOTE) and needs_quote(text[1:]):
        return text[1:]
    return text
