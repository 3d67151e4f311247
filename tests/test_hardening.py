"""Abuse and attack: login lockout, rate limits, headers, cookies, fuzzing, races."""

from __future__ import annotations

import re
import threading
import uuid
from urllib.parse import quote

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import include, path, reverse
from django.utils import translation
from django_htmx.middleware import HtmxDetails
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from wizard import diagnoses, knowledge, ratelimit
from wizard.models import Answer, Diagnosis
from wizard.position import Reply, locate
from wizard.views import merchant

from .conftest import ensure_seed, wizard_url_templates

PASSWORD = "correct-horse-battery-staple-42"


@ratelimit.rate_limit("start")
def limited_view(request):
    return HttpResponse("started")


# A URLconf for the decorator through the whole middleware stack; the wizard's URLs are
# there too because the 429 page extends base.html, which links to them.
urlpatterns = [
    path("limited/", limited_view),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("wizard.urls")),
]


@pytest.fixture
def limits(settings):
    """Low limits for one test. Counters start from nothing because every test counts
    fresh addresses (below): the cache, perhaps a shared Redis, is never flushed."""
    settings.RATE_LIMITS = {"start": (3, 600), "answer": (5, 600), "escalate": (2, 600)}
    settings.RATE_LIMIT_EXEMPT = []
    return settings.RATE_LIMITS


def address() -> str:
    """A fresh documentation address (198.18.0.0/15), so runs never share a counter."""
    n = uuid.uuid4().int
    return f"198.{18 + (n >> 16) % 2}.{(n >> 8) % 256}.{n % 256}"


# --- Rate limits: the helper ---------------------------------------------------------------


def test_hit_allows_up_to_the_limit_then_refuses(limits):
    key = f"test:{uuid.uuid4().hex}"
    assert [ratelimit.hit(key, 3, 60) for _ in range(5)] == [True, True, True, False, False]
    assert ratelimit.hit(f"{key}-other", 3, 60)


def test_hit_starts_counting_again_in_the_next_window(limits, monkeypatch):
    key = f"test:{uuid.uuid4().hex}"
    now = 1_000_000.0
    monkeypatch.setattr(ratelimit.time, "time", lambda: now)
    assert [ratelimit.hit(key, 1, 60) for _ in range(2)] == [True, False]
    now += 60
    assert ratelimit.hit(key, 1, 60)


def test_hit_lets_requests_through_when_the_cache_is_down(monkeypatch):
    class Broken:
        def add(self, *args, **kwargs):
            raise ConnectionError("Redis is down")

    monkeypatch.setattr(ratelimit, "cache", Broken())
    assert ratelimit.hit("anything", 1, 60)


def test_ipv6_addresses_are_counted_per_64_network():
    assert ratelimit.address_key("2001:db8:1:2:aaaa::1") == ratelimit.address_key("2001:db8:1:2:bbbb::2")
    assert ratelimit.address_key("2001:db8:1:2::1") != ratelimit.address_key("2001:db8:1:3::1")
    assert ratelimit.address_key("::ffff:203.0.113.9") == "203.0.113.9"
    assert ratelimit.address_key("") == "unknown"


@pytest.mark.parametrize(
    ("hops", "forwarded", "expected"),
    [
        (0, "203.0.113.1", "10.0.0.1"),  # no proxy trusted: the header is the client's word only
        (1, "203.0.113.1", "203.0.113.1"),
        (1, "6.6.6.6, 203.0.113.1", "203.0.113.1"),  # a forged left-hand entry is ignored
        (2, "6.6.6.6, 203.0.113.1, 10.0.0.2", "203.0.113.1"),
        (1, "", "10.0.0.1"),
        (1, "not-an-address", "10.0.0.1"),
    ],
)
def test_client_address_trusts_only_the_configured_proxies(settings, hops, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = hops
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    assert ratelimit.client_address(request) == expected


# --- Rate limits: the decorator ------------------------------------------------------------


def post(factory_or_client, **meta):
    return factory_or_client.post("/limited/", {}, **meta)


def test_decorator_answers_429_with_a_message_and_retry_after(limits):
    factory, ip = RequestFactory(), address()
    with translation.override("en"):
        statuses = [limited_view(post(factory, REMOTE_ADDR=ip)).status_code for _ in range(3)]
        refused = limited_view(post(factory, REMOTE_ADDR=ip))
    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 600
    html = refused.content.decode()
    assert "data-rate-limited" in html
    assert "too many requests" in html and "Your answers so far are kept" in html
    assert "<html" in html  # a whole page for a plain request
    assert limited_view(post(factory, REMOTE_ADDR=address())).status_code == 200  # another client


def test_decorator_gives_htmx_the_partial(limits):
    factory, ip = RequestFactory(), address()
    for _ in range(3):
        limited_view(post(factory, REMOTE_ADDR=ip))
    request = post(factory, REMOTE_ADDR=ip, HTTP_HX_REQUEST="true")
    request.htmx = HtmxDetails(request)
    refused = limited_view(request)
    assert refused.status_code == 429
    assert "<html" not in refused.content.decode()
    assert "HX-Request" in refused["Vary"]


def test_decorator_counts_only_posts(limits):
    factory, ip = RequestFactory(), address()
    for _ in range(10):
        assert limited_view(factory.get("/limited/", REMOTE_ADDR=ip)).status_code == 200
    assert limited_view(post(factory, REMOTE_ADDR=ip)).status_code == 200


def test_exempt_addresses_and_a_zero_limit_are_never_limited(limits, settings):
    factory, ip = RequestFactory(), address()
    settings.RATE_LIMIT_EXEMPT = [ip]
    assert {limited_view(post(factory, REMOTE_ADDR=ip)).status_code for _ in range(6)} == {200}
    settings.RATE_LIMIT_EXEMPT = []
    settings.RATE_LIMITS = {"start": (0, 600)}
    assert {limited_view(post(factory, REMOTE_ADDR=ip)).status_code for _ in range(6)} == {200}


@pytest.mark.urls("tests.test_hardening")
def test_limit_through_the_middleware_follows_the_proxy_header(limits, settings, client, seeded):
    settings.TRUSTED_PROXY_COUNT = 1
    ip = address()
    # Each request claims a different origin on the left: only the proxy's entry counts.
    statuses = [post(client, HTTP_X_FORWARDED_FOR=f"{address()}, {ip}").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert post(client, HTTP_X_FORWARDED_FOR=address()).status_code == 200
    page = post(client, HTTP_X_FORWARDED_FOR=ip, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 429
    assert 'lang="en"' in page.content.decode()  # the site's page, in the visitor's language


# The merchant views that change something are limited per address.
MERCHANT_LIMITS = [
    ("start", "start"),
    ("step", "answer"),
    ("feedback", "answer"),
    ("ask_more", "answer"),
    ("escalate", "escalate"),
]


@pytest.mark.parametrize(("view", "scope"), MERCHANT_LIMITS)
def test_merchant_views_are_rate_limited(view, scope):
    assert getattr(getattr(merchant, view), "rate_limit_scope", None) == scope


def test_starting_too_many_diagnoses_is_a_429_and_the_last_one_still_works(limits, client, seeded):
    ip = address()
    statuses = [client.post(reverse("wizard:start"), REMOTE_ADDR=ip).status_code for _ in range(4)]
    assert statuses == [303, 303, 303, 429]
    assert Diagnosis.objects.count() >= 3
    last = Diagnosis.objects.latest("created")
    assert client.get(reverse("wizard:step", args=[last.code, 1]), REMOTE_ADDR=ip).status_code == 200


def test_too_many_answers_is_a_429_and_keeps_the_answers(limits, client, seeded):
    ip = address()
    client.post(reverse("wizard:start"), REMOTE_ADDR=ip)
    diagnosis = Diagnosis.objects.latest("created")
    url = reverse("wizard:step", args=[diagnosis.code, 1])
    question = client.get(url, REMOTE_ADDR=ip).context["question"]
    form = {"question": question["slug"], "answer": question["options"][0]["slug"], "seen": 0}
    statuses = [client.post(url, form, REMOTE_ADDR=ip).status_code for _ in range(limits["answer"][0] + 1)]
    assert statuses[-1] == 429
    assert set(statuses[:-1]) == {303}
    assert diagnosis.answers.count() == 1  # the double submits changed nothing, and lost nothing


def test_an_agent_guessing_case_codes_is_stopped_whatever_address_they_use(
    client, seeded, settings, django_user_model
):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "code-miss": (3, 900)}
    # A user id of its own: the counters live in the cache, which no test flushes.
    agent = django_user_model.objects.create_user("guesser", id=10**6 + uuid.uuid4().int % 10**6)
    agent.groups.add(Group.objects.get_or_create(name="Agents")[0])
    client.force_login(agent)
    url = reverse("wizard:agent-open")
    misses = [client.get(url, {"code": "ZZZZZ-ZZZZZ"}, REMOTE_ADDR=address()).status_code for _ in range(4)]
    assert misses == [404, 404, 404, 429]


# --- Login lockout (django-axes) -----------------------------------------------------------


def login_urls() -> list[str]:
    return [reverse("admin:login"), reverse("wizard:agent-login")]


@pytest.fixture
def clerk(django_user_model):
    user = django_user_model.objects.create_user("clerk", password=PASSWORD, is_staff=True)
    group, _ = Group.objects.get_or_create(name="Agents")
    user.groups.add(group)
    return user


def login(client: Client, url: str, password: str, **meta):
    return client.post(url, {"username": "clerk", "password": password}, **meta)


@pytest.mark.parametrize("url", login_urls())
def test_login_locks_out_after_repeated_failures_and_axes_reset_unlocks(url, client, clerk, settings, db):
    # "Locks after 5 failures": each failure gets the form again, with an error...
    for _ in range(settings.AXES_FAILURE_LIMIT):
        assert login(client, url, "wrong").status_code == 200
    # ...and the next attempt is refused, even with the right password.
    assert login(client, url, PASSWORD).status_code == 429
    call_command("axes_reset", verbosity=0)
    response = login(client, url, PASSWORD)
    assert response.status_code == 302
    assert "_auth_user_id" in client.session


@pytest.mark.parametrize("url", login_urls())
def test_lockout_is_per_client_address_behind_the_proxy(url, client, clerk, settings, db):
    settings.TRUSTED_PROXY_COUNT = 1
    attacker, colleague = address(), address()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, url, "wrong", HTTP_X_FORWARDED_FOR=attacker)
    assert login(client, url, PASSWORD, HTTP_X_FORWARDED_FOR=attacker).status_code == 429
    assert login(Client(), url, PASSWORD, HTTP_X_FORWARDED_FOR=colleague).status_code == 302


# --- Headers and cookies -------------------------------------------------------------------


def test_landing_page_sends_the_security_headers(client, seeded):
    response = client.get("/")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    policy = response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy
    assert "object-src 'none'" in policy
    script_src = re.search(r"script-src ([^;]*)", policy).group(1)
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src


def test_csrf_cookie_is_http_only_and_same_site(client, seeded):
    cookie = client.get("/").cookies["csrftoken"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"


def test_session_cookie_is_http_only_and_same_site(client, clerk):
    response = login(client, reverse("admin:login"), PASSWORD)
    assert response.status_code == 302
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"


def test_the_page_still_carries_the_csrf_token_for_htmx(client, seeded):
    # The cookie is HttpOnly, so htmx must get the token from the page itself.
    html = client.get("/").content.decode()
    assert re.search(r'hx-headers=\'\{"X-CSRFToken": "[A-Za-z0-9]{64}"\}\'', html)


# --- Fuzzing every public endpoint ---------------------------------------------------------

# Every page of the wizard app (the agent's and the insights' too, as an anonymous visitor
# sees them), read from its URLconf, plus the case look-up with a code and the language
# switch.
ENDPOINTS = [*wizard_url_templates().values(), "/case/?code={code}", "/i18n/setlang/"]
FIELDS = [
    *("question", "answer", "seen", "token", "code", "language", "next", "csrfmiddlewaretoken"),
    *("outcome", "solution", "tried", "name", "phone", "merchant_number", "contact_time", "has_consent"),
]
text = st.text(st.characters(exclude_categories=("Cs",)), max_size=60)
values = st.one_of(
    text,
    st.sampled_from(["unsure", "yes", "no", "en", "zh-hans", "/", "//evil.example/", "-1", "0", "1e9"]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.just("x" * 5000),
)
forms = st.dictionaries(
    st.one_of(st.sampled_from(FIELDS), text), st.one_of(values, st.lists(values, max_size=3))
)


@st.composite
def case_codes(draw, real: str):
    kind = draw(st.sampled_from(["real", "lower", "dashed", "tampered", "random"]))
    if kind == "real":
        return real
    if kind == "lower":
        return real.lower()
    if kind == "dashed":
        return f"{real[:5]}-{real[5:]}"
    if kind == "tampered":
        i = draw(st.integers(0, len(real) - 1))
        return (
            real[:i]
            + draw(st.sampled_from("0O1IL?/%") | st.characters(exclude_categories=("Cs",)))
            + real[i + 1 :]
        )
    return draw(text)


@pytest.mark.django_db
def test_random_and_tampered_requests_never_cause_a_server_error(seeded):
    client = Client(raise_request_exception=True)
    client.post("/start/", {"token": ""})
    real = Diagnosis.objects.latest("created").code
    question = client.get(f"/d/{real}/q/1/").context["question"]
    real_values = [question["slug"], *(o["slug"] for o in question["options"])]

    @hypothesis_settings(
        max_examples=250,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(
        endpoint=st.sampled_from(ENDPOINTS),
        method=st.sampled_from(["GET", "POST", "POST", "HEAD", "PUT"]),
        code=case_codes(real),
        n=st.one_of(st.integers(0, 40), st.just(10**20)),
        form=forms,
        known=st.dictionaries(st.sampled_from(["question", "answer"]), st.sampled_from(real_values)),
        htmx=st.booleans(),
        language=st.sampled_from(["", "en", "zh-hans", "xx", "*;q=abc"]),
    )
    def check(endpoint, method, code, n, form, known, htmx, language):
        url = endpoint.format(code=quote(code, safe=""), number=n, reference=quote(code, safe=""))
        data = {**form, **known}
        meta = {"HTTP_ACCEPT_LANGUAGE": language}
        if htmx:
            meta["HTTP_HX_REQUEST"] = "true"
        if method == "GET":
            response = client.get(url, data, **meta)
        elif method == "POST":
            response = client.post(url, data, **meta)
        else:
            response = client.generic(method, url, **meta)
        assert response.status_code < 500, (method, url, data, response.status_code)

    check()
    # Whatever happened, the diagnosis still has a consistent answer sequence.
    positions = list(Answer.objects.filter(diagnosis__code=real).values_list("position", flat=True))
    assert positions == list(range(1, len(positions) + 1))


# --- Concurrent answers ----------------------------------------------------------------------


def test_an_answer_based_on_a_stale_copy_of_the_diagnosis_is_refused(seeded, snapshot):
    """The race below, without threads: the diagnosis changed (another tab changed the
    first answer) between reading it and writing the next answer."""
    diagnosis = diagnoses.start(revision=seeded.number, language="zh-hans")
    first = diagnosis.current_question
    options = [a["slug"] for a in snapshot.questions[snapshot.question_index[first]]["answers"]]
    assert diagnoses.answer(diagnosis, 1, first, options[0], seen=0).verdict == "recorded"
    stale = Diagnosis.objects.get(pk=diagnosis.pk)
    assert diagnoses.answer(diagnosis, 1, first, options[1], seen=1).verdict == "recorded"
    second = stale.current_question
    option = snapshot.questions[snapshot.question_index[second]]["answers"][0]["slug"]
    with transaction.atomic():  # a transaction of its own, as in a request
        assert diagnoses.answer(stale, 2, second, option, seen=1).verdict == "conflict"
    diagnosis.refresh_from_db()
    assert diagnosis.trail == [[first, options[1]]]
    assert list(diagnosis.answers.values_list("position", "option")) == [(1, options[1])]


@pytest.fixture
def committed_diagnosis(django_db_setup, django_db_blocker):
    """A diagnosis committed for real, so that other connections (threads) see it."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrency is tested on PostgreSQL (make test-postgres)")
    with django_db_blocker.unblock():
        revision = ensure_seed()
        diagnosis = diagnoses.start(revision=revision.number, language="zh-hans")
        try:
            yield diagnosis
        finally:
            Diagnosis.objects.filter(pk=diagnosis.pk).delete()


def test_concurrent_answers_to_one_step_lose_nothing_and_duplicate_nothing(
    committed_diagnosis, django_db_blocker
):
    code = committed_diagnosis.code
    url = reverse("wizard:step", args=[code, 1])
    with django_db_blocker.unblock():
        question = Client().get(url).context["question"]
        snapshot = knowledge.get_snapshot(committed_diagnosis.revision_id)
    # Answers that leave the diagnosis open, so every winner is then asked question 2.
    options = [
        option
        for option in [o["slug"] for o in question["options"]] + ["unsure"]
        if not locate(snapshot, [Reply(question["slug"], option)]).is_finished
    ]
    assert len(options) >= 2
    threads_n = 8
    barrier = threading.Barrier(threads_n)
    results: list[tuple[str, int]] = []
    errors: list[BaseException] = []

    def answer(option: str) -> None:
        try:
            client = Client(raise_request_exception=True)
            barrier.wait(timeout=30)
            # Every visitor saw the page with no answer yet ("seen": 0).
            response = client.post(url, {"question": question["slug"], "answer": option, "seen": 0})
            results.append((option, response.status_code))
        except BaseException as error:  # reported below, in the main thread
            errors.append(error)
        finally:
            connections.close_all()

    with django_db_blocker.unblock():
        threads = [
            threading.Thread(target=answer, args=(options[i % len(options)],)) for i in range(threads_n)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not any(t.is_alive() for t in threads)
        assert not errors, errors
        stored = list(Answer.objects.filter(diagnosis__code=code).values_list("position", "option"))

    assert len(results) == threads_n
    assert {status for _, status in results} <= {303, 409}
    assert len(stored) == 1  # exactly one answer at that position, nothing after it
    position, winner = stored[0]
    assert position == 1
    # Nothing lost: whoever was told "recorded" (303) gave the answer that is stored.
    assert {option for option, status in results if status == 303} == {winner}


def test_a_case_is_looked_up_by_its_code_in_one_query_that_sorts_nothing(seeded):
    """Every case page and answer looks the case up: its code is unique, so the lookup
    needs no ORDER BY (the model's own would cost each request its compilation)."""
    from django.test.utils import CaptureQueriesContext

    diagnosis = diagnoses.start(revision=seeded.number, language="zh-hans")
    with CaptureQueriesContext(connection) as queries:
        assert diagnoses.find_diagnosis(diagnosis.display_code) == diagnosis
    [query] = queries.captured_queries
    assert "ORDER BY" not in query["sql"].upper()
    assert diagnoses.find_diagnosis("ABCDE-23456") is None
