"""Records and content rules the database keeps."""

from __future__ import annotations

import pytest
from django.db import IntegrityError
from django.urls import reverse

from wizard.models import (
    CODE_ALPHABET,
    CODE_LENGTH,
    Answer,
    Cause,
    Diagnosis,
    new_case_code,
    normalise_case_code,
)


def test_case_codes_are_readable_aloud_and_long_enough():
    codes = {new_case_code() for _ in range(2000)}
    assert len(codes) == 2000
    for code in codes:
        assert len(code) == CODE_LENGTH
        assert not set(code) & set("0O1IL")
    # At least 40 bits of randomness.
    assert len(CODE_ALPHABET) ** CODE_LENGTH >= 2**40


def test_normalising_what_people_type():
    assert normalise_case_code(" abcde-fghjk ") == "ABCDEFGHJK"
    assert normalise_case_code("ABCDE FGHJK") == "ABCDEFGHJK"


def test_display_code_is_grouped(seeded):
    diagnosis = Diagnosis.objects.create(revision=seeded, code="ABCDEFGHJK")
    assert diagnosis.display_code == "ABCDE-FGHJK"
    assert str(diagnosis) == "ABCDE-FGHJK"
    assert diagnosis.get_absolute_url() == reverse("wizard:resume", args=["ABCDEFGHJK"])


def test_two_answers_cannot_share_a_position(seeded):
    diagnosis = Diagnosis.objects.create(revision=seeded)
    Answer.objects.create(diagnosis=diagnosis, position=1, question="q", option="yes")
    with pytest.raises(IntegrityError):
        Answer.objects.create(diagnosis=diagnosis, position=1, question="q", option="no")


def test_a_cause_prior_must_be_positive(seeded):
    with pytest.raises(IntegrityError):
        Cause.objects.filter(pk=Cause.objects.first().pk).update(prior=0)


def test_content_changes_are_recorded_in_history(seeded):
    cause = Cause.objects.first()
    cause.prior = 2.5
    cause.save()
    assert cause.history.first().prior == 2.5
    assert cause.history.count() >= 2


def test_bilingual_fields_fall_back_to_chinese(seeded):
    from django.utils import translation

    cause = Cause.objects.first()
    cause.title_en = ""
    with translation.override("en"):
        assert cause.title == cause.title_zh_hans
