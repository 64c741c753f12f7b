"""The one path by which the list pages write their rows (STYLE convention 13).

Every list is a django-tables2 table (a ``ListTable`` below; dashboard/tables.py and
clinic/tables.py declare them) shown
by templates/refills/_table.html, which writes the page's ``<tr>`` rows with
``{% table_rows table %}``: ``RowRenderer(table).html()`` here.

Why not the library's own row loop: django-tables2 writes each cell through
``BoundRow.get_cell``, which rebuilds the column's accessor, walks it twice, looks up the
model field and inspects the render method's signature, for every cell; with the template
loop around it, that was about half of a 50-row, 12-column page (bench/FINDINGS.md 8, 16).
This renderer does the per-column work once per page, through the library's public column
API (``BoundColumn.accessor``, ``.render``, ``.default``, ``.attrs``, ``Column.empty_values``),
and calls one cell function per cell. It patches nothing in the library.

What a cell function does is exactly what ``BoundRow.get_cell`` does for that column:
resolve the accessor (a failed lookup is an empty value), give ``default`` for an empty
value, else call the render method with the arguments it names (``value``, ``record``,
``column``, ``bound_column``, ``table``; a render method naming one it cannot get is not
called and the cell is empty, as ``call_with_appropriate`` does). Where that shortcut does
not apply (a link column, a field with choices shown by its label, many-to-many, a render
method taking ``bound_row`` or ``**kwargs``, cell attributes computed per record), the cell
goes through the library's ``BoundRow.get_cell``: slower, still right.
``tests/test_table_body.py`` checks that the rows equal the library's own, cell by cell,
on every list, and that every column of the lists takes the shortcut.
"""

import inspect

import django_tables2 as tables
from django.middleware.csrf import get_token
from django.utils.encoding import force_str
from django.utils.functional import cached_property
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django_tables2.columns import ManyToManyColumn
from django_tables2.utils import Accessor, AttributeDict

FIXED_ARGUMENTS = ("column", "bound_column", "table")


def render_arguments(render) -> tuple[tuple[str, ...], bool]:
    """The argument names of a render method (without self and ``*args``) and whether it
    takes ``**kwargs``: read once per column and page."""
    names, catch_all = [], False
    for parameter in inspect.signature(render).parameters.values():
        if parameter.kind == parameter.VAR_KEYWORD:
            catch_all = True
        elif parameter.kind != parameter.VAR_POSITIONAL:
            names.append(parameter.name)
    return tuple(names), catch_all


def cell_function(table, bound_column, *, export=False):
    """record -> cell content, as ``BoundRow.get_cell`` gives it for this column (with
    ``export``: the cell's value as ``BoundRow.get_cell_value`` gives it for the exports);
    None where the shortcut does not apply (see the module's docstring)."""
    column = bound_column.column
    if bound_column.link or isinstance(column, ManyToManyColumn):
        return None
    accessor = Accessor(bound_column.accessor)
    model = getattr(table.data, "model", None)
    if model is not None and getattr(accessor.get_field(model), "choices", None):
        return None  # shown through get_FOO_display(): the library's path
    render = bound_column.value if export else bound_column.render
    if export and getattr(render, "__func__", None) is tables.Column.value:
        if type(column).render is not tables.Column.render:
            return None
        render = tables.Column.render.__get__(column)  # what Column.value calls: the value itself
    names, catch_all = render_arguments(render)
    if catch_all or "bound_row" in names:
        return None
    fixed = {"column": column, "bound_column": bound_column, "table": table}
    if any(name not in ("value", "record", *FIXED_ARGUMENTS) for name in names):
        return lambda record: None  # what call_with_appropriate returns
    default, empty_values = (None if export else bound_column.default), column.empty_values
    wants_value, wants_record = "value" in names, "record" in names
    fixed = {name: fixed[name] for name in names if name in FIXED_ARGUMENTS}

    def cell(record):
        try:
            value = accessor.resolve(record)
        except Exception:  # as django-tables2: a failed lookup is an empty cell
            value = None
        if value in empty_values:
            return default
        arguments = dict(fixed)
        if wants_value:
            arguments["value"] = value
        if wants_record:
            arguments["record"] = record
        return render(**arguments)

    return cell


class RowRenderer:
    """The ``<tr>`` rows of a table's current page: the row header (``<th scope="row">``)
    first unless the table says ``row_header = False``, then one ``<td>`` per visible column, each with its column's attributes
    (``data-label`` for the stacked rows of phones), each row with the table's row
    attributes. Cell contents are escaped unless they are safe HTML, as ``{{ cell }}``."""

    def __init__(self, table):
        self.table = table
        self.columns = list(table.columns)
        self.cell_attrs = {column.name: self.static_attrs(column) for column in self.columns}
        per_record = any(attrs is None for attrs in self.cell_attrs.values())
        # Attributes computed per record read column.current_value: the library's path.
        self.cells = {} if per_record else {column.name: cell_function(table, column) for column in self.columns}
        self.own_row_attrs = None

    def static_attrs(self, bound_column) -> str | None:
        """The <td> attributes as HTML, or None when one is computed per record."""
        declared = {**dict(self.table.attrs), **dict(bound_column.column.attrs)}
        td = declared.get("td", declared.get("cell", {}))
        return None if any(callable(value) for value in td.values()) else bound_column.attrs["td"].as_html()

    def row_cells(self, row) -> list:
        """The (attributes HTML, content) of each cell of a BoundRow."""
        cells = []
        for column in self.columns:
            function = self.cells.get(column.name)
            content = function(row.record) if function else row.get_cell(column.name)
            attrs = self.cell_attrs[column.name]
            if attrs is None:
                column.current_value, column.current_record = content, row.record
                attrs = column.attrs["td"].as_html()
            cells.append((attrs, content))
        return cells

    def row_attrs(self, row) -> str:
        """The row's attributes as the library computes them (``BoundRow.attrs``: the
        table's ``row_attrs``, then its alternating ``even``/``odd`` class; without that
        class when the table says ``row_parity = False``), each callable's arguments read
        once per page."""
        if self.own_row_attrs is None:
            self.own_row_attrs = {key: attribute_function(value) for key, value in self.table.row_attrs.items()}
        attrs = {key: function(self.table, row.record) for key, function in self.own_row_attrs.items()}
        if getattr(self.table, "row_parity", True):
            parity = row.get_even_odd_css_class()
            attrs["class"] = f"{attrs['class']} {parity}" if attrs.get("class") else parity
        elif not attrs.get("class"):
            attrs.pop("class", None)
        return AttributeDict(attrs).as_html()

    def html(self):
        """The rows as safe HTML. Attributes come from AttributeDict.as_html (escaped);
        cell contents are escaped unless safe (conditional_escape, as ``{{ cell }}``)."""
        rows = []
        header = 0 if getattr(self.table, "row_header", True) else None
        for row in self.table.paginated_rows:
            cells = "".join(
                f'<th scope="row" {attrs}>{conditional_escape(content)}</th>'
                if index == header
                else f"<td {attrs}>{conditional_escape(content)}</td>"
                for index, (attrs, content) in enumerate(self.row_cells(row))
            )
            rows.append(f"<tr {self.row_attrs(row)}>{cells}</tr>")
        return mark_safe("\n".join(rows))  # noqa: S308 (attributes and contents escaped above)


def attribute_function(value):
    """(table, record) -> an attribute's value, as the library computes a ``row_attrs``
    entry (a callable gets the arguments among ``table`` and ``record`` it names)."""
    if not callable(value):
        return lambda table, record: value
    names, catch_all = render_arguments(value)
    if catch_all:
        return lambda table, record: value(table=table, record=record)
    if any(name not in ("table", "record") for name in names):
        return lambda table, record: None
    return lambda table, record: value(**{name: {"table": table, "record": record}[name] for name in names})


class ListTable(tables.Table):
    """A list page's table: its rows are written by ``row_renderer`` (clinic/rows.py, the
    one row path of every list) through templates/refills/_table.html."""

    row_renderer = RowRenderer
    wrap_class = "table-wrap"  # the scrolling wrapper around the table

    def as_values(self, exclude_columns=None):
        """The library's ``Table.as_values`` (the rows of CSV and XLSX exports), each cell's
        value through the same per-column shortcut as the page's cells (``cell_function``)."""
        exclude_columns = exclude_columns or ()
        columns = [
            column
            for column in self.columns.iterall()
            if not (column.column.exclude_from_export or column.name in exclude_columns)
        ]
        yield [force_str(column.header, strings_only=True) for column in columns]
        functions = [cell_function(self, column, export=True) for column in columns]
        for row in self.rows:
            yield [
                force_str(function(row.record) if function else row.get_cell_value(column.name), strings_only=True)
                for column, function in zip(columns, functions, strict=True)
            ]

    row_header = True  # the first cell is the row's header (<th scope="row">)
    row_parity = True  # the library's alternating even/odd row classes


class PageListTable(ListTable):
    """A list whose view pages it (ListView's ``paginate_by``; includes/pagination.html):
    the table shows the page's records as given, in the view's order, without sorting.
    Rows carry only their own classes (these lists never had the library's even/odd)."""

    row_parity = False

    def __init__(self, data, *, request, paginator=None, caption="", caption_class="", empty_text="", **kwargs):
        # The request is not given to the library, which would page the page again (by 25).
        super().__init__(data, orderable=False, empty_text=empty_text, **kwargs)
        self.request = request  # for the forms in cells (csrf_input) and their "next"
        if paginator is not None:
            self.paginator = paginator  # the view's: table.paginator.count is the list's total, as on the other lists
        self.caption, self.caption_class = caption, caption_class

    @cached_property
    def csrf_input(self):
        """What {% csrf_token %} writes, for the forms in cells (read once per page, as the
        template's token is)."""
        return format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', get_token(self.request))
