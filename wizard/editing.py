"""How support admins edit the same content: edit stamps, and history that says what changed.

**Edit stamps.** Two admins who open the same cause and both save would silently
overwrite each other. Each change form carries a stamp of what it was opened on (the
object and its inline rows) and when; a save whose stamp no longer matches is refused,
with what changed meanwhile, who changed it, and the admin's own input kept. Fields they
left alone take the other admin's new values; saving again saves theirs on purpose.

**History.** django-simple-history records each model on its own, so a cause's history
showed an empty row when only a strength, a solution link or an option changed, and
nothing about the row itself. The rows of an object's inlines are read here from their
own history and shown on its history page, from → to. Diffs leave out modeltranslation's
untranslated original field (``title`` beside ``title_zh_hans`` and ``title_en``): it
mirrors whichever language the saving admin's page was in, so comparing it recorded
changes nobody made (an English page "changed" the Chinese explanation).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from django.core import serializers
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from modeltranslation.translator import NotRegistered, translator

# --- What a diff compares ------------------------------------------------------------------


def untranslated_originals(model: type[models.Model]) -> set[str]:
    """The original fields modeltranslation mirrors from the active language."""
    try:
        return set(translator.get_options_for_model(model).all_fields)
    except NotRegistered:
        return set()


def compared_fields(model: type[models.Model]) -> list[models.Field]:
    """The fields an admin edits and a diff shows: not the language mirror, not the
    keys and time stamps."""
    skipped = untranslated_originals(model)
    return [
        f for f in model._meta.concrete_fields if f.editable and not f.primary_key and f.name not in skipped
    ]


def shown(model: type[models.Model], name: str, value) -> str:
    """A stored value as an admin reads it: a choice's label, a related object's name."""
    if value is None or value == "":
        return "—"
    model_field = model._meta.get_field(name)
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if model_field.is_relation:
        related = model_field.related_model.objects.filter(pk=value).first()
        return str(related) if related is not None else f"#{value}"
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    text = str(value)
    return text if len(text) <= 160 else text[:159] + "…"


@dataclass
class Change:
    field: str
    old: str
    new: str


@dataclass
class Record:
    """One saved change of an object or of one of its rows: when, by whom, what."""

    when: datetime
    who: str
    kind: str  # "added", "changed", "deleted"
    what: str  # the row, as an admin names it
    changes: list[Change] = field(default_factory=list)
    row: str = ""  # the row's model name, for an inline row's record
    row_id: int | None = None  # ...and the row's own id
    history_id: int | None = None
    undo_url: str = ""  # set by the admin for those who may undo it


def label(model_field: models.Field) -> str:
    """A field's name as an admin reads it; a relation is named by what it points to
    (whose name is translated, where the field's own may not be)."""
    if model_field.is_relation and model_field.verbose_name == model_field.name.replace("_", " "):
        return str(model_field.related_model._meta.verbose_name)
    return str(model_field.verbose_name)


def delta(record, previous, model: type[models.Model], *, skip: tuple[str, ...] = ()) -> list[Change]:
    """What ``record`` changed since ``previous`` (historical records of ``model``)."""
    names = [f.name for f in compared_fields(model) if f.name not in skip]
    if previous is None:
        return []
    diff = record.diff_against(previous, included_fields=names)
    return [
        Change(
            label(model._meta.get_field(c.field)),
            shown(model, c.field, c.old),
            shown(model, c.field, c.new),
        )
        for c in diff.changes
        if not same(c.old, c.new)
    ]


KINDS = {"+": "added", "~": "changed", "-": "deleted"}


def _who(record) -> str:
    return record.history_user.get_username() if record.history_user_id else str(_("someone"))


def _named(record) -> str:
    try:
        return str(record.instance)
    except models.ObjectDoesNotExist:  # a row whose related object was deleted since
        return f"#{record.id}"


def _as_record(record, model, *, skip: tuple[str, ...] = ()) -> Record:
    """A historical record as an admin reads it: a change from the record before it, or
    the values a row was added or deleted with."""
    kind = KINDS.get(record.history_type, "changed")
    previous = record.prev_record if kind == "changed" else None
    if previous is not None:
        changes = delta(record, previous, model, skip=skip)
    else:
        changes = []
        for f in compared_fields(model):
            if f.name in skip:
                continue
            value = shown(model, f.name, getattr(record, f.attname))
            name = label(f)
            changes.append(Change(name, value, "—") if kind == "deleted" else Change(name, "—", value))
    return Record(record.history_date, _who(record), kind, _named(record), changes)


def differs_from_stored(obj) -> bool:
    """Whether saving ``obj`` would change a field an admin edits (a revert does; a
    form saved only for its inline rows does not)."""
    stored = type(obj)._default_manager.filter(pk=obj.pk).first()
    if stored is None:
        return True
    return any(
        not same(f.value_from_object(stored), f.value_from_object(obj)) for f in compared_fields(type(obj))
    )


def same(old, new) -> bool:
    """Equal as an admin sees them: an empty translation is empty, stored as "" or as
    NULL (modeltranslation's form gives None for a blank optional translation)."""
    return ("" if old is None else old) == ("" if new is None else new)


def meaningful(delta):
    """A simple-history delta without the changes an admin could not see (blank → NULL)."""
    changes = [c for c in delta.changes if not same(c.old, c.new)]
    return replace(delta, changes=changes, changed_fields=[c.field for c in changes])


# --- The rows of an object's inlines -------------------------------------------------------


def inline_relations(model_admin) -> list[tuple[type[models.Model], str]]:
    """(model, name of its foreign key to the admin's model) of each inline."""
    relations = []
    for inline in model_admin.inlines:
        for f in inline.model._meta.fields:
            if f.is_relation and f.related_model is model_admin.model:
                relations.append((inline.model, f.name))
                break
    return relations


def row_records(obj, relations, *, since: datetime | None = None, newest: int | None = None) -> list[Record]:
    """Saved changes to the inline rows of ``obj``, newest first: every one since ``since``,
    or the ``newest`` of them (only those are read and described)."""
    found = []
    for model, fk in relations:
        history = model.history.filter(**{f"{fk}_id": obj.pk}).select_related("history_user")
        if since is not None:
            history = history.filter(history_date__gt=since)
        if newest is not None:
            history = history.order_by("-history_date", "-history_id")[:newest]
        kind = str(model._meta.verbose_name)
        for record in history:
            item = _as_record(record, model, skip=(fk,))
            item.what = f"{kind}: {item.what}"
            item.row, item.row_id, item.history_id = model._meta.model_name, record.id, record.history_id
            found.append(item)
    found.sort(key=lambda r: r.when, reverse=True)
    return found if newest is None else found[:newest]


def object_records(obj, *, since: datetime) -> list[Record]:
    """The object's own saved changes since ``since``, newest first (not its creation)."""
    history = obj.history.filter(history_date__gt=since).select_related("history_user")
    return [r for r in (_as_record(record, type(obj)) for record in history) if r.changes]


def is_latest(model, record) -> bool:
    """Whether ``record`` is the newest saved change of its row."""
    newest = model.history.filter(id=record.id).order_by("-history_date", "-history_id").first()
    return newest is not None and newest.history_id == record.history_id


class UndoRefused(Exception):
    """The row cannot be put back (another row now holds its place)."""


def undo_row(model, fk: str, parent_pk, history_id: int, *, by) -> None:
    """Undo one saved change of an inline row of the object ``parent_pk``: a change goes
    back to the values before it, an added row is removed, a deleted one comes back.
    The undo is recorded like any edit. LookupError if no such change of that object."""
    record = model.history.filter(history_id=history_id, **{f"{fk}_id": parent_pk}).first()
    if record is None:
        raise LookupError(history_id)
    if not is_latest(model, record):
        # Putting back the row as it was before an older change would silently undo the
        # changes made to it since.
        raise UndoRefused(_("This row was changed again since. Undo its latest change first."))
    try:
        with transaction.atomic():
            if record.history_type == "+":
                row = model._default_manager.filter(pk=record.id).first()
                if row is not None:
                    row._history_user = by
                    row.delete()
                return
            source = record.prev_record if record.history_type == "~" else record
            if source is None:
                raise LookupError(history_id)
            row = source.instance
            row._history_user = by
            row.save()
    except IntegrityError as error:
        raise UndoRefused(
            _(
                "It cannot be put back: another row of this one now takes its place. Edit the rows on the form."
            )
        ) from error


# --- Edit stamps -------------------------------------------------------------------------


def content_digest(obj, relations) -> str:
    """What the object and its inline rows hold now, in a few characters."""
    model = type(obj)
    fresh = model._default_manager.filter(pk=obj.pk).first()
    if fresh is None:
        return ""
    rows = [fresh]
    for related, fk in relations:
        rows.extend(related._default_manager.filter(**{f"{fk}_id": obj.pk}).order_by("pk"))
    return hashlib.sha256(serializers.serialize("json", rows).encode()).hexdigest()[:24]


def issue(obj, relations) -> str:
    """The stamp a change form is opened with: the content's digest and the time."""
    return f"{content_digest(obj, relations)}:{timezone.now().timestamp():.6f}"


def read(stamp: str) -> tuple[str, datetime | None]:
    digest, _sep, when = stamp.partition(":")
    try:
        return digest, datetime.fromtimestamp(float(when), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return digest, None
