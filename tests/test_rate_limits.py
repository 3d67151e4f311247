"""Guessing is slow: case-code look-ups, agent look-ups and logins are limited, and every
refusal says how long to wait (a translated message and ``Retry-After``)."""

from __future__ import annotations

import logging
import math
import re
import uuid
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from wizard.models import Diagnosis, KnowledgeRevision, Ticket

from .conftest import own_case, wizard_url_templates

UNKNOWN = "ZZZZZ-ZZZZZ"  # the shape of a case code, but no case has it
UNKNOWN_TICKET = "T-ZZZZZZZZ"
PASSWORD = "correct-horse-battery-staple-42"


def address() -> str:
    """A fresh documentation address (198.18.0.0/15), so tests never share a counter."""
    n = uuid.uuid4().int
    return f"198.{18 + (n >> 16) % 2}.{(n >> 8) % 256}.{n % 256}"


def waits(response) -> int:
    """The seconds a refusal asks to wait: its Retry-After, which every 429 must send."""
    assert response.status_code == 429
    assert "Retry-After" in response, "a 429 without Retry-After"
    seconds = response["Retry-After"]
    assert seconds.isdecimal() and int(seconds) > 0, seconds
    return int(seconds)


def minutes_stated(response) -> int:
    """The wait the page states, in minutes, in English or Chinese."""
    text = re.sub(r"\s+", " ", response.content.decode())
    found = re.search(r"try again in (\d+) minutes?", text) or re.search(r"(\d+) ?分钟后", text)
    assert found, text[-1500:]
    return int(found.group(1))


def assert_states_the_wait(response) -> None:
    assert minutes_stated(response) == math.ceil(waits(response) / 60)


@pytest.fixture
def case(seeded) -> Diagnosis:
    return Diagnosis.objects.create(revision=KnowledgeRevision.objects.latest())


@pytest.fixture
def low_limits(settings):
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "lookup-miss": (3, 900),
        "code-miss": (3, 900),
        "code-miss-address": (100, 900),
    }
    return settings.RATE_LIMITS


# --- Merchants: unknown case codes per client address ----------------------------------------

# Every merchant route that names a case, with the method it answers; the test below
# fails when the URLconf gains one that is not listed here.
MERCHANT_CODE_ROUTES = [
    ("find-case", "get"),
    ("resume", "get"),
    ("step", "get"),
    ("step", "post"),
    ("finish", "post"),
    ("result", "get"),
    ("feedback", "post"),
    ("more", "post"),
    ("escalate", "get"),
    ("escalate", "post"),
    ("escalated", "get"),
    ("withdraw", "post"),
]
AGENT_CODE_ROUTES = [
    ("agent-open", "get"),
    ("agent-case", "get"),
    ("agent-answer", "post"),
    ("agent-finish", "post"),
    ("agent-more", "post"),
    ("agent-notes", "post"),
    ("agent-describe", "post"),
    ("agent-facts", "post"),
    ("agent-outcome", "post"),
    ("agent-summary", "get"),
    ("agent-state", "get"),
    ("agent-ticket", "get"),
    ("agent-ticket-status", "post"),
    ("agent-ticket-withdraw", "post"),
    ("agent-personal-data", "get"),
]


def test_every_route_that_takes_a_code_is_in_the_lists_above():
    takes_a_code = {
        name for name, url in wizard_url_templates().items() if "{code}" in url or "{reference}" in url
    }
    listed = {name for name, _ in MERCHANT_CODE_ROUTES + AGENT_CODE_ROUTES}
    assert takes_a_code - {"find-case", "agent-open"} <= listed


def url_for(name: str, code: str = UNKNOWN, reference: str = UNKNOWN_TICKET) -> tuple[str, dict]:
    """The route's address and query for ``code``: the two search forms take it as ``?code=``."""
    if name in ("find-case", "agent-open"):
        return reverse(f"wizard:{name}"), {"code": code}
    template = wizard_url_templates()[name]
    return template.format(code=code.replace("-", ""), number=1, reference=reference), {}


def ask(client: Client, name: str, method: str, code: str = UNKNOWN, **extra):
    url, query = url_for(name, code)
    if method == "get":
        return client.get(url, query, **extra)
    return client.post(url, query, **extra)


@pytest.mark.parametrize(("name", "method"), MERCHANT_CODE_ROUTES)
def test_a_merchant_guessing_codes_is_stopped_on_every_route(name, method, client, seeded, low_limits):
    ip = address()
    statuses = [ask(client, name, method, REMOTE_ADDR=ip).status_code for _ in range(3)]
    assert statuses == [404, 404, 404]
    refused = ask(client, name, method, REMOTE_ADDR=ip, HTTP_ACCEPT_LANGUAGE="en")
    assert 0 < waits(refused) <= 900
    assert_states_the_wait(refused)
    assert "case code" in refused.content.decode()
    assert ask(client, name, method, REMOTE_ADDR=address()).status_code == 404  # another client


def test_a_refused_look_up_is_logged_for_the_operators(client, seeded, low_limits, caplog):
    ip = address()
    with caplog.at_level(logging.INFO, logger="wizard.ratelimit"):
        for _ in range(4):
            ask(client, "resume", "get", REMOTE_ADDR=ip)
    refusals = [r.getMessage() for r in caplog.records if r.name == "wizard.ratelimit"]
    assert [message.split(":")[0] for message in refusals] == ["Look-up refused"]


def test_misses_on_different_routes_add_up(client, seeded, low_limits):
    ip = address()
    for name, method in [("find-case", "get"), ("result", "get"), ("step", "post")]:
        assert ask(client, name, method, REMOTE_ADDR=ip).status_code == 404
    assert ask(client, "resume", "get", REMOTE_ADDR=ip).status_code == 429


def test_correct_codes_never_count(client, case, low_limits):
    ip = address()
    for _ in range(10):
        assert ask(client, "result", "get", case.code, REMOTE_ADDR=ip).status_code == 200
        assert ask(client, "find-case", "get", case.display_code, REMOTE_ADDR=ip).status_code == 303
    assert [ask(client, "result", "get", REMOTE_ADDR=ip).status_code for _ in range(4)] == [
        404,
        404,
        404,
        429,
    ]


def test_while_refused_a_correct_code_is_refused_too_so_no_guess_is_confirmed(client, case, low_limits):
    ip = address()
    for _ in range(3):
        ask(client, "result", "get", REMOTE_ADDR=ip)
    assert ask(client, "result", "get", case.code, REMOTE_ADDR=ip).status_code == 429
    assert ask(client, "result", "get", case.code, REMOTE_ADDR=address()).status_code == 200


def test_a_code_that_cannot_be_one_is_not_a_guess_and_does_not_count(client, case, low_limits):
    ip = address()
    for typo in ["ABCDE", "ABCDE-2345", "ABCDE-234567", "ABCDE-2345²", "OOOOO-IIIII"]:
        assert ask(client, "result", "get", typo, REMOTE_ADDR=ip).status_code == 404
        assert ask(client, "find-case", "get", typo, REMOTE_ADDR=ip).status_code == 400
    assert ask(client, "result", "get", case.code, REMOTE_ADDR=ip).status_code == 200


def test_a_wrong_ticket_reference_on_a_real_case_is_a_miss(client, case, low_limits):
    own_case(client, case)  # only the browser that started a case sees its tickets
    ip = address()
    url = reverse("wizard:escalated", args=[case.code, UNKNOWN_TICKET])
    assert [client.get(url, REMOTE_ADDR=ip).status_code for _ in range(4)] == [404, 404, 404, 429]


def test_exempt_addresses_are_still_limited_when_guessing(client, seeded, low_limits, settings):
    ip = address()
    settings.RATE_LIMIT_EXEMPT = [ip]
    assert [ask(client, "result", "get", REMOTE_ADDR=ip).status_code for _ in range(4)] == [
        404,
        404,
        404,
        429,
    ]


def test_the_merchant_refusal_is_in_chinese_by_default_and_a_partial_for_htmx(client, seeded, low_limits):
    ip = address()
    for _ in range(3):
        ask(client, "result", "get", REMOTE_ADDR=ip)
    page = ask(client, "result", "get", REMOTE_ADDR=ip)
    assert_states_the_wait(page)
    assert "案件编号" in page.content.decode()
    assert "<html" in page.content.decode()
    partial = ask(client, "result", "get", REMOTE_ADDR=ip, HTTP_HX_REQUEST="true")
    waits(partial)
    assert "<html" not in partial.content.decode()
    assert "HX-Request" in partial["Vary"]


# --- Agents: unknown codes per agent account, plus a looser ceiling per address -----------------


def make_agent(django_user_model, name: str = ""):
    user = django_user_model.objects.create_user(name or f"agent-{uuid.uuid4().hex[:8]}")
    user.groups.add(Group.objects.get_or_create(name="Agents")[0])
    return user


def agent_client(django_user_model) -> Client:
    client = Client()
    client.force_login(make_agent(django_user_model))
    return client


def ask_agent(
    client: Client, name: str, method: str, code: str = UNKNOWN, reference: str = UNKNOWN_TICKET, **extra
):
    if name.startswith("agent-ticket"):
        url, query = url_for(name, reference=reference)
    else:
        url, query = url_for(name, code)
    return getattr(client, method)(url, query, **extra)


@pytest.mark.parametrize(("name", "method"), AGENT_CODE_ROUTES)
def test_an_agent_guessing_codes_is_stopped_on_every_route(
    name, method, seeded, low_limits, django_user_model
):
    client, ip = agent_client(django_user_model), address()
    statuses = [ask_agent(client, name, method, REMOTE_ADDR=ip).status_code for _ in range(3)]
    assert statuses == [404, 404, 404]
    refused = ask_agent(client, name, method, REMOTE_ADDR=ip, HTTP_ACCEPT_LANGUAGE="en")
    assert 0 < waits(refused) <= 900
    if name != "agent-state":  # polled in the background: a notice, not a page
        assert_states_the_wait(refused)
    # Counted per agent: another address does not help.
    assert ask_agent(client, name, method, REMOTE_ADDR=address()).status_code == 429


def test_one_agents_typos_do_not_stop_the_colleague_at_the_next_desk(
    seeded, case, low_limits, django_user_model
):
    ip = address()
    careless, colleague = agent_client(django_user_model), agent_client(django_user_model)
    for _ in range(4):
        ask_agent(careless, "agent-open", "get", REMOTE_ADDR=ip)
    assert ask_agent(careless, "agent-open", "get", REMOTE_ADDR=ip).status_code == 429
    assert ask_agent(colleague, "agent-open", "get", REMOTE_ADDR=ip).status_code == 404
    assert ask_agent(colleague, "agent-open", "get", case.code, REMOTE_ADDR=ip).status_code == 303


def test_all_agents_behind_one_address_share_a_much_higher_ceiling(
    seeded, case, low_limits, settings, django_user_model
):
    settings.RATE_LIMITS = {**low_limits, "code-miss-address": (5, 900)}
    ip = address()
    for misses in (3, 2):  # two agents, each within their own limit
        client = agent_client(django_user_model)
        assert {
            ask_agent(client, "agent-case", "get", REMOTE_ADDR=ip).status_code for _ in range(misses)
        } == {404}
    third = agent_client(django_user_model)
    refused = ask_agent(third, "agent-open", "get", case.code, REMOTE_ADDR=ip, HTTP_ACCEPT_LANGUAGE="en")
    assert_states_the_wait(refused)
    assert ask_agent(third, "agent-open", "get", case.code, REMOTE_ADDR=address()).status_code == 303


def test_the_agents_refusal_is_translated_and_asks_to_check_the_code(seeded, low_limits, django_user_model):
    client, ip = agent_client(django_user_model), address()
    for _ in range(3):
        ask_agent(client, "agent-open", "get", REMOTE_ADDR=ip)
    zh = ask_agent(client, "agent-open", "get", REMOTE_ADDR=ip)
    assert_states_the_wait(zh)
    assert "编号" in zh.content.decode()
    en = ask_agent(client, "agent-open", "get", REMOTE_ADDR=ip, HTTP_ACCEPT_LANGUAGE="en")
    assert_states_the_wait(en)
    assert "letter by letter" in en.content.decode()


def test_an_agent_opening_real_cases_and_tickets_never_counts(seeded, case, low_limits, django_user_model):
    ticket = Ticket.objects.create(diagnosis=case, name="王老板", phone="13800138000")
    client, ip = agent_client(django_user_model), address()
    for _ in range(5):
        assert ask_agent(client, "agent-case", "get", case.code, REMOTE_ADDR=ip).status_code == 200
        assert ask_agent(client, "agent-state", "get", case.code, REMOTE_ADDR=ip).status_code == 200
        assert (
            ask_agent(client, "agent-ticket", "get", reference=ticket.reference, REMOTE_ADDR=ip).status_code
            == 200
        )
    assert [ask_agent(client, "agent-case", "get", REMOTE_ADDR=ip).status_code for _ in range(4)] == [
        404,
        404,
        404,
        429,
    ]


# --- Login lockout (django-axes): after 5 failures, per account and address; per account anywhere ----


@pytest.fixture
def clerk(django_user_model):
    user = django_user_model.objects.create_user("clerk", password=PASSWORD)
    user.groups.add(Group.objects.get_or_create(name="Agents")[0])
    return user


LOGIN_URLS = ["/agent/login/", "/admin/login/"]


def login(url: str, password: str, ip: str, username: str = "clerk", **extra):
    return Client().post(url, {"username": username, "password": password}, REMOTE_ADDR=ip, **extra)


@pytest.mark.parametrize("url", LOGIN_URLS)
def test_the_fifth_failure_is_answered_normally_and_the_sixth_attempt_is_locked(url, clerk, settings):
    """README and docs/deploy.md: "Logins lock after 5 failures"."""
    assert settings.AXES_FAILURE_LIMIT == 5
    ip = address()
    statuses = [login(url, "wrong", ip).status_code for _ in range(5)]
    assert statuses == [200] * 5  # the sign-in form again, with its error
    locked = login(url, PASSWORD, ip, HTTP_ACCEPT_LANGUAGE="en")  # even the right password
    assert 55 * 60 < waits(locked) <= 60 * 60
    assert_states_the_wait(locked)
    assert "locked" in locked.content.decode()
    assert f'href="{url}"' in locked.content.decode()  # back to the form, for later


@pytest.mark.parametrize("url", LOGIN_URLS)
def test_the_lockout_message_is_in_chinese_by_default(url, clerk):
    ip = address()
    for _ in range(5):
        login(url, "wrong", ip)
    locked = login(url, "wrong", ip)
    assert_states_the_wait(locked)
    assert "锁定" in locked.content.decode()
    assert "Account locked" not in locked.content.decode()


def test_a_lockout_ends_when_it_says(clerk):
    url, ip = LOGIN_URLS[0], address()
    for _ in range(5):
        login(url, "wrong", ip)
    wait = waits(login(url, PASSWORD, ip))
    for attempt in AccessAttempt.objects.all():  # as if that many seconds had passed
        attempt.attempt_time -= timedelta(seconds=wait + 1)
        attempt.save()
    assert login(url, PASSWORD, ip).status_code == 302


def test_one_account_attacked_from_many_addresses_is_locked(clerk, django_user_model):
    url = LOGIN_URLS[0]
    addresses = [address() for _ in range(15)]
    statuses = [login(url, f"guess-{n}", addresses[n % 15]).status_code for n in range(60)]
    assert 429 in statuses, "sixty wrong passwords from fifteen addresses never locked the account"
    first = statuses.index(429)
    assert first == settings.LOGIN_ACCOUNT_FAILURE_LIMIT and set(statuses[first:]) == {429}
    locked = login(url, PASSWORD, address(), HTTP_ACCEPT_LANGUAGE="en")  # the owner, elsewhere
    assert_states_the_wait(locked)
    # Only that account: a colleague signs in from one of the same addresses.
    django_user_model.objects.create_user("colleague", password=PASSWORD)
    assert login(url, PASSWORD, addresses[0], username="colleague").status_code == 302


def test_a_few_failures_from_each_of_several_desks_do_not_lock_the_account(clerk):
    url = LOGIN_URLS[0]
    for n in range(12):  # three desks, four slips each: below both limits
        assert login(url, "wrong", f"10.0.0.{n % 3 + 1}").status_code == 200
    assert login(url, PASSWORD, "10.0.0.1").status_code == 302
