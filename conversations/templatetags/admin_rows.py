"""A changelist's rows planned once per page, not looked up again for every cell.

Django's `items_for_result` finds each cell's column anew for every row (the field by its
name, the empty value, which display function applies, the row link's filters), makes each
cell with `format_html`, and the template then loops over the cells: most of a 100-row
admin page (bench/README.md, "Admin rows planned once per page"). Here the columns are
planned once per page and each row is one `format_html` of its cells. The HTML is Django's,
byte for byte: a test renders every registered admin's lists both ways and compares them.
A list this plan does not cover (list_editable, a popup, a column across relations) is
rendered by Django's own tag.

templates/admin/change_list.html puts `{% planned_result_list cl %}` where Django's
change_list.html has `{% result_list cl %}`.
"""

import datetime

from django import template
from django.contrib.admin.templatetags.admin_list import (
    ResultList,
    _coerce_field_name,
    result_headers,
    result_hidden_fields,
    result_list,
)
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.templatetags.base import InclusionAdminNode
from django.contrib.admin.utils import (
    FieldIsAForeignKeyColumnName,
    _get_non_gfk_field,
    display_for_field,
    display_for_value,
    get_fields_from_path,
)
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist
from django.db import models
from django.db.models.constants import LOOKUP_SEP
from django.urls import NoReverseMatch
from django.utils import formats, timezone
from django.utils.html import format_html

register = template.Library()

_ABSENT = object()


class _Unplanned(Exception):
    """A column the plan does not cover: the page is rendered by Django's items_for_result."""


def _field_display(field, empty, avoid_link):
    """Return value -> what display_for_field(value, field, empty, avoid_link) returns."""
    if field.name == "password":  # Django may show it as a hash: its own way.
        return lambda value: display_for_field(value, field, empty, avoid_link=avoid_link)
    if getattr(field, "flatchoices", None):
        choices = dict(field.flatchoices)

        def choice(value):
            try:
                return choices.get(value, empty)
            except TypeError:  # An unhashable value: Django's own way.
                return display_for_field(value, field, empty, avoid_link=avoid_link)

        return choice
    if not field.choices:
        empties = field.empty_values
        if isinstance(field, models.DateTimeField):
            return lambda value: (
                empty if value in empties else formats.localize(timezone.template_localtime(value))
            )
        if isinstance(field, (models.IntegerField, models.FloatField)):
            return lambda value: empty if value in empties else formats.number_format(value)
    return lambda value: display_for_field(value, field, empty, avoid_link=avoid_link)


def _column(cl, index, name, link):
    """Return the column's classes and row -> (the cell's class if not those, its text).

    The text is escaped by format_html, as items_for_result's is.
    """
    model_admin = cl.model_admin
    base_empty = model_admin.get_empty_value_display()
    column_name = _coerce_field_name(name, index)
    field_class = f"field-{column_name}"
    if not column_name.isidentifier():
        raise _Unplanned(name)  # A class the row's format could not hold as it is.
    try:
        field = _get_non_gfk_field(cl.lookup_opts, name) if isinstance(name, str) else None
        if field is None:
            raise FieldDoesNotExist
    except (FieldDoesNotExist, FieldIsAForeignKeyColumnName):
        field = None
    classes = [field_class]

    if field is not None and not field.auto_created:
        attname = field.name
        if isinstance(field, (models.DateField, models.TimeField, models.ForeignKey)):
            classes.append("nowrap")
        if isinstance(field.remote_field, models.ManyToOneRel):

            def text(row):
                value = getattr(row, attname)
                return base_empty if value is None else value

        else:
            display = _field_display(field, base_empty, link)

            def text(row):
                return display(getattr(row, attname))

        def cell(row):
            try:
                return None, text(row)
            except ObjectDoesNotExist:
                return field_class, base_empty

        return classes, cell

    # Not a model field (or an automatic one): a callable, an admin method, or a model
    # attribute, as lookup_field finds them; shown by display_for_value.
    if field is None and isinstance(name, str) and LOOKUP_SEP in name:
        try:
            get_fields_from_path(cl.model, name)
        except FieldDoesNotExist:
            pass  # e.g. __str__
        else:
            raise _Unplanned(name)  # A field across relations.
    if name == "action_checkbox":
        classes = ["action-checkbox"]
    if field is not None:  # An automatic field: its value, no attribute to describe it.
        meta = None

        def value_of(row):
            return getattr(row, field.name)

    elif callable(name):
        meta = name

        def value_of(row):
            return name(row)

    elif hasattr(model_admin, name) and name != "__str__":
        meta = getattr(model_admin, name)

        def value_of(row):
            return meta(row)

    else:
        if not hasattr(model_admin.model, name):
            raise _Unplanned(name)  # An attribute of rows alone, e.g. an annotation.
        meta = getattr(model_admin.model, name)

        def value_of(row):
            value = getattr(row, name, _ABSENT)
            if value is _ABSENT:
                raise _Unplanned(name)
            return value() if callable(value) else value

    empty = getattr(meta, "empty_value_display", base_empty)
    boolean = getattr(meta, "boolean", False)
    if isinstance(meta, property) and hasattr(meta, "fget"):
        boolean = getattr(meta.fget, "boolean", False)
    nowrap = " ".join([*classes, "nowrap"])
    # A boolean's icon depends on its value alone (True, False or None): made once a page,
    # not a static() lookup per row. Keyed by type too: 1 and True find one dict entry.
    icons = {}

    def shown(value):
        if not boolean or not isinstance(value, (bool, type(None))):
            return display_for_value(value, empty, boolean)
        key = (type(value), value)
        if key not in icons:
            icons[key] = display_for_value(value, empty, boolean)
        return icons[key]

    def cell(row):
        try:
            value = value_of(row)
        except ObjectDoesNotExist:
            return field_class, base_empty
        nowraps = isinstance(value, (datetime.date, datetime.time))
        return (nowrap if nowraps else None), shown(value)

    return classes, cell


def _plan(cl):
    """Return row -> the row's cells as one SafeString, or raise _Unplanned."""
    if cl.formset is not None or cl.is_popup or cl.to_field:
        raise _Unplanned("list_editable, a popup or to_field")
    columns = []
    first = True
    for index, name in enumerate(cl.list_display):
        if cl.list_display_links is None:
            link = False
        elif first and not cl.list_display_links:
            link = True
        else:
            link = name in cl.list_display_links
        tag = "th" if link and first else "td"
        if link:
            first = False
        classes, cell = _column(cl, index, name, link)
        columns.append((tag, " ".join(classes), link, cell))
    filters = {"preserved_filters": cl.preserved_filters, "opts": cl.opts}

    def row_html(row):
        # The format's literal parts are tags and class names made of Python identifiers
        # (field and function names: no brace, quote or angle bracket); every value is an
        # argument, escaped by format_html as items_for_result escapes it.
        parts, args = [], []
        for tag, own_class, link, cell in columns:
            row_class, text = cell(row)
            parts.append(f'<{tag} class="{row_class or own_class}">')
            if link:
                try:
                    url = add_preserved_filters(filters, cl.url_for_result(row))
                except NoReverseMatch:
                    parts.append("{}")
                    args.append(text)
                else:
                    parts.append('<a href="{}">{}</a>')
                    args += [url, text]
            else:
                parts.append("{}")
                args.append(text)
            parts.append(f"</{tag}>")
        return format_html("".join(parts), *args)

    return row_html


def planned_result_list(cl):
    """What Django's result_list tag gives its template, the rows planned once per page."""
    try:
        row_html = _plan(cl)
        rows = [ResultList(None, [row_html(row)]) for row in cl.result_list]
    except _Unplanned:
        return result_list(cl)
    headers = list(result_headers(cl))
    return {
        "cl": cl,
        "result_hidden_fields": list(result_hidden_fields(cl)),
        "result_headers": headers,
        "num_sorted_fields": sum(1 for h in headers if h["sortable"] and h["sorted"]),
        "results": rows,
    }


@register.tag(name="planned_result_list")
def planned_result_list_tag(parser, token):
    return InclusionAdminNode(
        "planned_result_list",
        parser,
        token,
        func=planned_result_list,
        template_name="change_list_results.html",
        takes_context=False,
    )
