"""Intake in the merchant's own words: understood, confirmed, then only what is still
worth asking is asked."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from wizard import content, insights, knowledge
from wizard.models import Answer, Diagnosis, Symptom

AUTH_CODE = "刷卡的时候一直提示请输入授权码，网络正常"
CORPUS = Path(knowledge.__file__).resolve().parent / "benchmark" / "descriptions.json"


def understood(response) -> set[tuple[str, str]]:
    html = response.content.decode()
    items = set()
    for chunk in html.split("data-understood ")[1:]:
        symptom = chunk.split('data-symptom="', 1)[1].split('"', 1)[0]
        polarity = chunk.split('data-polarity="', 1)[1].split('"', 1)[0]
        items.add((symptom, polarity))
    return items


def fact_values(response) -> list[str]:
    html = response.content.decode()
    return [chunk.split('"', 1)[0] for chunk in html.split('name="fact" value="')[1:]]


@pytest.fixture
def described(client, seeded):
    return client.post(reverse("wizard:describe"), {"description": AUTH_CODE, "token": "t1"})


def confirm(client, facts, *, description=AUTH_CODE, token="t1"):
    return client.post(reverse("wizard:start"), {"description": description, "fact": facts, "token": token})


def test_the_landing_page_offers_the_description_box(client, seeded):
    html = client.get(reverse("wizard:landing")).content.decode()
    assert 'data-action="describe"' in html
    assert 'name="description"' in html
    assert 'maxlength="1000"' in html


def test_a_description_is_understood_as_facts_present_and_absent(described):
    assert described.status_code == 200
    assert understood(described) == {("pay-asks-auth-code", "present"), ("network-no-signal", "absent")}
    assert 'data-action="confirm"' in described.content.decode()
    assert Diagnosis.objects.count() == 0  # nothing is kept before the merchant confirms


def test_confirmed_facts_become_answers_from_the_description(client, described):
    response = confirm(client, fact_values(described))
    diagnosis = Diagnosis.objects.get()
    assert response.status_code == 303
    assert response["Location"] == reverse("wizard:step", args=[diagnosis.code, 3])
    answers = list(
        diagnosis.answers.order_by("position").values_list("question", "option", "from_description")
    )
    assert answers == [("payment-screen", "pay-asks-auth-code", True), ("q-network-no-signal", "no", True)]
    assert diagnosis.description == AUTH_CODE
    # The wizard goes on with what is still worth asking: never these two again.
    assert diagnosis.current_question not in {"payment-screen", "q-network-no-signal"}


def test_an_unticked_fact_is_not_recorded(client, described):
    confirm(client, ["payment-screen:pay-asks-auth-code"])
    assert list(Answer.objects.values_list("question", flat=True)) == ["payment-screen"]


def test_the_answers_say_they_came_from_the_description(client, described):
    confirm(client, fact_values(described))
    diagnosis = Diagnosis.objects.get()
    diagnosis.status = Diagnosis.Status.DIAGNOSED
    diagnosis.save()
    html = client.get(reverse("wizard:result", args=[diagnosis.code])).content.decode()
    assert html.count("data-from-description") == 2


def test_a_tampered_fact_is_refused_and_nothing_is_started(client, described):
    response = confirm(client, ["q-installed-third-party-app:yes"])
    assert response.status_code == 400
    assert "data-error" in response.content.decode()
    assert Diagnosis.objects.count() == 0
    # What the merchant typed is still there to confirm again.
    assert understood(response) == understood(described)


def test_a_double_click_on_confirm_starts_one_diagnosis_with_its_answers_once(client, described):
    confirm(client, fact_values(described))
    confirm(client, fact_values(described))
    assert Diagnosis.objects.count() == 1
    assert Answer.objects.count() == 2


def test_nothing_recognised_is_said_kindly_and_the_questions_start(client, seeded):
    response = client.post(reverse("wizard:describe"), {"description": "机器坏了，怎么办", "token": "t2"})
    assert "data-understood-none" in response.content.decode()
    started = confirm(client, [], description="机器坏了，怎么办", token="t2")
    diagnosis = Diagnosis.objects.get()
    assert started["Location"] == reverse("wizard:step", args=[diagnosis.code, 1])
    assert diagnosis.answers.count() == 0


@pytest.mark.parametrize(
    "text, status, message",
    [
        ("", 400, "Type a few words"),
        ("   \n ", 400, "Type a few words"),
        ("网" * 10_000, 400, "1000"),
    ],
)
def test_bad_descriptions_get_a_clear_message(client, seeded, text, status, message):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("django.utils.translation.get_language", lambda: "en")
        response = client.post(reverse("wizard:describe"), {"description": text}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == status
    assert message in response.content.decode()


def test_markup_emoji_and_right_to_left_text_are_never_echoed_as_markup(client, seeded):
    text = "<script>alert(1)</script> 电池鼓包了 😀 \u202eevil"
    response = client.post(reverse("wizard:describe"), {"description": text})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html
    assert ("battery-swollen", "present") in understood(response)


def test_a_control_character_is_named_and_the_text_is_kept(client, seeded):
    response = client.post(
        reverse("wizard:describe"), {"description": "电池鼓包了\x00"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "control characters" in html or "控制字符" in html
    assert "电池鼓包了" in html


@pytest.mark.parametrize("text", ["", "网" * 2000, "电池鼓包了\x00"])
def test_the_live_preview_of_unfinished_text_is_an_empty_list_not_a_page(client, seeded, text):
    response = client.post(
        reverse("wizard:describe"), {"description": text, "preview": "1"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<section" not in html and "data-understood" not in html and "data-error" not in html


def test_the_live_preview_is_only_the_list(client, seeded):
    response = client.post(
        reverse("wizard:describe"), {"description": "电池鼓包了", "preview": "1"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert ("battery-swollen", "present") in understood(response)
    assert "<html" not in html and 'name="fact"' not in html


def test_understanding_a_description_reads_no_table_but_the_revision(
    client, seeded, django_assert_max_num_queries
):
    client.post(reverse("wizard:describe"), {"description": AUTH_CODE})  # compile once
    with django_assert_max_num_queries(4):
        client.post(reverse("wizard:describe"), {"description": AUTH_CODE})


# --- The agent -----------------------------------------------------------------------------


@pytest.fixture
def agent_client(client, seeded):
    user = get_user_model().objects.create_user("agent-anna", password="x")
    user.groups.add(Group.objects.get_or_create(name="Agents")[0])
    client.force_login(user)
    return client


def test_an_agent_confirms_the_callers_words_into_the_case(agent_client):
    agent_client.post(reverse("wizard:agent-start"), {})
    diagnosis = Diagnosis.objects.get()
    console = agent_client.get(reverse("wizard:agent-case", args=[diagnosis.code])).content.decode()
    assert 'data-action="describe"' in console
    page = agent_client.post(
        reverse("wizard:agent-describe", args=[diagnosis.code]), {"description": AUTH_CODE}
    )
    assert ("pay-asks-auth-code", "present") in understood(page)
    response = agent_client.post(
        reverse("wizard:agent-facts", args=[diagnosis.code]),
        {"description": AUTH_CODE, "fact": fact_values(page)},
    )
    assert response.status_code == 303
    diagnosis.refresh_from_db()
    assert diagnosis.description == AUTH_CODE
    assert diagnosis.answers.filter(from_description=True, answered_by__username="agent-anna").count() == 2
    console = agent_client.get(reverse("wizard:agent-case", args=[diagnosis.code])).content.decode()
    assert console.count("data-from-description") == 2
    summary = agent_client.get(reverse("wizard:agent-summary", args=[diagnosis.code])).content.decode()
    assert AUTH_CODE in summary


# --- Authoring -----------------------------------------------------------------------------


def test_phrases_travel_with_the_knowledge(seeded):
    payload = content.compile_payload()
    symptom = next(s for s in payload["symptoms"] if s["slug"] == "pay-asks-auth-code")
    assert "授权码" in " ".join(symptom["phrases"]["zh-hans"])
    assert symptom["phrases"]["en"]


def test_the_health_report_lists_symptoms_without_phrases(admin_client, seeded):
    def flagged() -> bool:
        html = admin_client.get(reverse("admin:wizard_health"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
        return "<code>boot-loop</code>" in html

    assert not flagged()
    Symptom.objects.filter(slug="boot-loop").update(phrases_zh_hans="", phrases_en="")
    assert flagged()


def test_the_health_report_tries_a_description_on_the_draft(admin_client, seeded):
    Symptom.objects.filter(slug="battery-swollen").update(phrases_zh_hans="电池鼓包\n后盖翘起来")
    html = admin_client.get(reverse("admin:wizard_health"), {"description": "后盖翘起来了"}).content.decode()
    assert 'data-symptom="battery-swollen"' in html  # a phrase the published seed does not have


def test_a_description_leaves_with_its_diagnosis(client, described):
    confirm(client, fact_values(described))
    long_ago = timezone.now() - timedelta(days=400)
    Diagnosis.objects.update(created=long_ago, updated=long_ago)
    call_command("purge_diagnoses", "--older-than", "365", stdout=io.StringIO())
    assert not Diagnosis.objects.filter(description__contains="授权码").exists()
    assert not Answer.objects.exists()


# --- How well it understands ---------------------------------------------------------------


def test_the_held_out_descriptions_are_understood_with_useful_precision(snapshot):
    """The corpus was written apart from the phrases. The issue's targets (precision 90%,
    recall 70%) are reported by the benchmark; this guards against a collapse."""
    corpus = json.loads(CORPUS.read_text(encoding="utf-8"))["descriptions"]
    hits = found = wanted = 0
    for entry in corpus:
        gold = {(f["symptom"], f["polarity"]) for f in entry["facts"]}
        got = {(f.symptom, f.polarity) for f in snapshot.phrasebook.understand(entry["text"])}
        hits, found, wanted = hits + len(gold & got), found + len(got), wanted + len(gold)
    assert len(corpus) >= 60
    assert hits / found >= 0.8
    assert hits / wanted >= 0.5


# --- Insights ------------------------------------------------------------------------------


def test_insights_count_descriptions_and_the_questions_they_answered_even_after_the_purge(
    client, described, admin_client
):
    confirm(client, fact_values(described))
    client.post(reverse("wizard:start"), {"token": "plain"})  # one started without a description
    today = timezone.localdate()

    def totals():
        figures = insights.figures(today - timedelta(days=500), today)
        return figures.totals["started"], figures.totals["described"], figures.totals["described_answers"]

    assert totals() == (2, 1, 2)
    html = admin_client.get(reverse("wizard:insights")).content.decode()
    assert 'data-kpi="described">1<' in html and 'data-kpi="described-answers">2<' in html
    long_ago = timezone.now() - timedelta(days=400)
    Diagnosis.objects.update(created=long_ago, updated=long_ago, day=timezone.localdate(long_ago))
    call_command("purge_diagnoses", "--older-than", "365", stdout=io.StringIO())
    assert not Diagnosis.objects.exists()
    assert totals() == (2, 1, 2)
