"""The JSON API (/api/v1/), used the way an integration uses it: only through HTTP, with
keys, from its servers or from a browser on its own site."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from wizard import roles
from wizard.models import ApiKey, CaseEvent, Diagnosis, Integration, Ticket

API = "/api/v1"
ORIGIN = "https://pay.example.com"


@pytest.fixture
def integration(db) -> Integration:
    return Integration.objects.create(name="Pay app", slug="pay-app", allowed_origins=f"{ORIGIN}\n")


@pytest.fixture
def other(db) -> Integration:
    return Integration.objects.create(
        name="Bank site", slug="bank", allowed_origins="https://bank.example.com"
    )


def issue(integration: Integration, *scopes: str, rate_limit: int = 1000) -> str:
    key, secret = ApiKey.issue(integration, "test", list(scopes or ["diagnose"]))
    ApiKey.objects.filter(pk=key.pk).update(rate_limit=rate_limit)
    return secret


class Api:
    """An integration's HTTP client: JSON in and out, its key on every request."""

    def __init__(self, secret: str = "", *, header: str = "bearer", **extra):
        self.client = Client(enforce_csrf_checks=True)  # no CSRF token is ever sent
        self.headers = dict(extra)
        if secret and header == "bearer":
            self.headers["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
        elif secret:
            self.headers["HTTP_X_API_KEY"] = secret

    def get(self, path: str, **query):
        return self.client.get(API + path, query, **self.headers)

    def post(self, path: str, body=None, *, raw: str | None = None):
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.client.post(API + path, data, content_type="application/json", **self.headers)

    def put(self, path: str, body):
        return self.client.put(API + path, json.dumps(body), content_type="application/json", **self.headers)


@pytest.fixture
def api(seeded, integration) -> Api:
    return Api(issue(integration))


def start(api: Api, **body) -> dict:
    response = api.post("/diagnoses", {"language": "en", **body})
    assert response.status_code == 201, response.content
    return response.json()


def answer_all(api: Api, state: dict, pick=lambda question: question["options"][0]["value"]) -> dict:
    """Answer every question until the result, as a client reading only the API would."""
    for _ in range(60):
        question = state["question"]
        if question is None:
            return state
        body = {"number": question["number"], "question": question["slug"], "answer": pick(question)}
        response = api.post(f"/diagnoses/{state['code']}/answers", body)
        assert response.status_code == 200, response.content
        state = response.json()
        assert state["answers"][-1]["answer"] == body["answer"] or state["question"] is None
    raise AssertionError("the questions never stopped")


# --- A whole diagnosis ---------------------------------------------------------------------


def test_a_whole_diagnosis_through_the_api_only(api, integration):
    state = start(api)
    assert state["status"] == "in-progress" and state["channel"] == "api"
    assert state["question"]["number"] == 1 and state["question"]["options"]
    probabilities = [r["probability"] for r in state["ranking"]]
    assert probabilities and probabilities == sorted(probabilities, reverse=True) and sum(probabilities) <= 1
    assert state["result"] is None and "understood" not in state

    done = answer_all(api, state, pick=lambda q: q["options"][-1]["value"])
    assert done["status"] == "diagnosed" and done["question"] is None
    result = done["result"]
    assert result["stop"] in ("confident", "exhausted", "budget")
    assert result["causes"] and result["steps"] and result["providers"]
    assert api.get(f"/diagnoses/{done['code']}").json() == done  # reading changes nothing

    first, second = result["steps"][0]["solution"], result["steps"][1]["solution"]
    tried = api.post(f"/diagnoses/{done['code']}/outcome", {"fixed": False, "tried": [first]})
    assert tried.status_code == 200, tried.content
    assert tried.json()["tried"] == [first]
    assert first not in [s["solution"] for s in tried.json()["result"]["steps"]]  # not suggested again

    fixed = api.post(f"/diagnoses/{done['code']}/outcome", {"fixed": True, "solution": second})
    assert fixed.status_code == 200 and fixed.json()["status"] == "resolved"

    body = {"name": "王老板", "phone": "138 0013 8000", "has_consent": True, "token": "t-1"}
    escalated = api.post(f"/diagnoses/{done['code']}/escalation", body)
    assert escalated.status_code == 201, escalated.content
    ticket = Ticket.objects.get(reference=escalated.json()["ticket"])
    assert ticket.phone == "+8613800138000" and ticket.has_consent and ticket.consented_at
    assert ticket.notice_version and escalated.json()["privacy_notice_url"].endswith("/privacy/")
    assert escalated.json()["state"]["status"] == "escalated"
    again = api.post(f"/diagnoses/{done['code']}/escalation", body)  # a retry: the same ticket
    assert again.json()["ticket"] == ticket.reference and Ticket.objects.count() == 1

    diagnosis = Diagnosis.objects.get(code=done["code"])
    assert diagnosis.channel == Diagnosis.Channel.API and diagnosis.integration == integration
    assert diagnosis.fixed_by == second and diagnosis.status == Diagnosis.Status.ESCALATED


def test_a_retried_start_returns_the_same_diagnosis(api, other):
    first, again = start(api, token="order-4711"), start(api, token="order-4711")
    assert first["code"] == again["code"] and Diagnosis.objects.count() == 1
    theirs = start(Api(issue(other)), token="order-4711")  # another integration's token is its own
    assert theirs["code"] != first["code"] and start(api)["code"] != first["code"]


def test_a_description_is_answered_at_once(api):
    text = 'Since the upgrade every payment fails with "communication failed". Wifi is ok.'
    state = start(api, description=text)
    assert state["understood"], "nothing understood"
    assert {u["question"] for u in state["understood"]} <= {a["question"] for a in state["answers"]}
    assert all(a["from_description"] for a in state["answers"])
    assert Diagnosis.objects.get(code=state["code"]).description == text


def test_an_earlier_answer_is_changed_by_its_number(api):
    state = start(api)
    for _ in range(2):
        q = state["question"]
        state = api.post(
            f"/diagnoses/{state['code']}/answers",
            {"number": q["number"], "question": q["slug"], "answer": "unsure"},
        ).json()
    first = state["answers"][0]
    changed = api.post(
        f"/diagnoses/{state['code']}/answers",
        {"number": 1, "question": first["question"], "answer": "pay-comm-failed"},
    )
    assert changed.status_code == 200, changed.content
    # The other answers are facts about the terminal: they stay (as in the wizard).
    assert [a["answer"] for a in changed.json()["answers"]] == ["pay-comm-failed", "unsure"]


def test_a_stale_step_is_409_with_the_current_state(api):
    state = start(api)
    q = state["question"]
    body = {"number": 1, "question": q["slug"], "answer": q["options"][0]["value"]}
    assert api.post(f"/diagnoses/{state['code']}/answers", body).status_code == 200
    # Another channel answered step 2 meanwhile; this client still thinks step 1 is asked.
    stale = api.post(
        f"/diagnoses/{state['code']}/answers", {**body, "answer": q["options"][1]["value"], "seen": 0}
    )
    assert stale.status_code == 409
    assert stale.json()["error"] == "stale" and stale.json()["state"]["question"]["number"] == 2
    ahead = api.post(f"/diagnoses/{state['code']}/answers", {**body, "number": 9})
    assert ahead.status_code == 409 and ahead.json()["state"]["answers"][0]["answer"] == body["answer"]


def test_show_the_result_now(api):
    state = start(api)
    finished = api.post(f"/diagnoses/{state['code']}/finish")
    assert finished.status_code == 200
    assert finished.json()["result"]["stop"] == "early" and finished.json()["question"] is None


# --- Keys, scopes, limits ------------------------------------------------------------------


def test_without_a_valid_key_401(seeded, integration, like_postgresql):
    secret = issue(integration)
    revoked = issue(integration)
    ApiKey.objects.get(prefix=revoked.split("_")[1]).revoke()
    nul = "pud_" + "\x00" * 8 + "_" + "x" * 43  # the shape of a key, but NUL where the prefix goes
    for client in (
        Api(),
        Api("pud_nothing_here"),
        Api(secret[:-1] + "x"),
        Api(revoked),
        Api("\x00" * 300),
        Api(nul),
    ):
        response = client.post("/diagnoses", {"language": "en"})
        assert response.status_code == 401
        assert response.json()["error"] == "unauthorized" and response["WWW-Authenticate"].startswith(
            "Bearer"
        )
    assert Diagnosis.objects.count() == 0


def test_the_key_may_come_in_x_api_key(seeded, integration):
    assert (
        Api(issue(integration), header="x-api-key").post("/diagnoses", {"language": "en"}).status_code == 201
    )


def test_a_key_without_the_scope_403(seeded, integration):
    reader = Api(issue(integration, "knowledge-read"))
    assert reader.post("/diagnoses", {"language": "en"}).status_code == 403
    assert reader.get("/knowledge/causes").status_code == 200
    diagnose = Api(issue(integration, "diagnose"))
    code = start(diagnose)["code"]
    refused = diagnose.get(f"/diagnoses/{code}/timeline")
    assert refused.status_code == 403 and refused.json()["error"] == "scope"
    assert diagnose.get("/knowledge/causes").status_code == 403


def test_over_the_key_limit_429_with_retry_after(seeded, integration):
    limited = Api(issue(integration, rate_limit=2))
    assert [limited.get("/diagnoses/ABCDE23456").status_code for _ in range(2)] == [404, 404]
    refused = limited.get("/diagnoses/ABCDE23456")
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 60
    assert refused.json()["error"] == "rate-limited"
    assert Api(issue(integration)).get("/diagnoses/ABCDE23456").status_code == 404  # per key


def test_guessing_codes_is_limited_per_key(seeded, integration, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "lookup-miss": (3, 900)}
    guesser = Api(issue(integration))
    assert [guesser.get("/diagnoses/ZZZZZ-ZZZZZ").status_code for _ in range(3)] == [404] * 3
    code = start(guesser)["code"]
    refused = guesser.get(f"/diagnoses/{code}")  # refused even for a real code
    assert refused.status_code == 429 and refused["Retry-After"]
    assert refused.json()["error"] == "too-many-misses" and "不存在的案例编号" in refused.json()["message"]
    assert Api(issue(integration)).get(f"/diagnoses/{code}").status_code == 200


def test_last_used_is_written_at_most_once_a_minute(seeded, integration):
    secret = issue(integration)
    key = ApiKey.objects.get(prefix=secret.split("_")[1])
    client = Api(secret)
    client.get("/diagnoses/ABCDE23456")
    key.refresh_from_db()
    first = key.last_used_at
    assert first is not None
    client.get("/diagnoses/ABCDE23456")
    key.refresh_from_db()
    assert key.last_used_at == first
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=first - timedelta(minutes=2))
    client.get("/diagnoses/ABCDE23456")
    key.refresh_from_db()
    assert key.last_used_at > first - timedelta(seconds=1)


# --- Who may change what -------------------------------------------------------------------


def test_a_finished_diagnosis_is_changed_only_by_its_integration_or_an_agent_key(seeded, integration, other):
    owner = Api(issue(integration))
    stranger = Api(issue(other))
    agent = Api(issue(other, "agent"))
    code = start(owner)["code"]
    assert owner.post(f"/diagnoses/{code}/finish").status_code == 200
    refused = stranger.post(
        f"/diagnoses/{code}/outcome", {"fixed": False, "tried": ["restart-check-network"]}
    )
    assert refused.status_code == 403 and refused.json()["error"] == "locked"
    assert stranger.get(f"/diagnoses/{code}").status_code == 200  # reading stays open, as in the wizard
    assert (
        agent.post(
            f"/diagnoses/{code}/outcome", {"fixed": False, "tried": ["restart-check-network"]}
        ).status_code
        == 200
    )
    assert (
        owner.post(
            f"/diagnoses/{code}/outcome", {"fixed": True, "solution": "restart-check-network"}
        ).status_code
        == 200
    )


def test_an_open_diagnosis_is_answered_by_any_key(seeded, integration, other):
    state = start(Api(issue(integration)))
    q = state["question"]
    body = {"number": 1, "question": q["slug"], "answer": "unsure"}
    assert Api(issue(other)).post(f"/diagnoses/{state['code']}/answers", body).status_code == 200


def test_agent_keys_read_the_timeline_and_keep_notes(api, integration):
    agent = Api(issue(integration, "agent"))
    state = start(agent)
    q = state["question"]
    agent.post(
        f"/diagnoses/{state['code']}/answers", {"number": 1, "question": q["slug"], "answer": "unsure"}
    )
    saved = agent.put(f"/diagnoses/{state['code']}/notes", {"notes": "Caller at the counter."})
    assert saved.status_code == 200 and saved.json()["notes"] == "Caller at the counter."
    timeline = agent.get(f"/diagnoses/{state['code']}/timeline").json()
    assert timeline["notes"] == "Caller at the counter."
    assert [a["answer"] for a in timeline["answers"]] == ["unsure"]
    assert CaseEvent.Kind.NOTES in [e["kind"] for e in timeline["events"]]
    assert agent.put(f"/diagnoses/{state['code']}/notes", {"notes": "a\x00b"}).status_code == 422


# --- Bad requests: 400/404/422, never a 500 ------------------------------------------------


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"number": "1", "question": "q", "answer": "a"}, ["body", "payload", "number"]),
        ({"number": 10**30, "question": "q", "answer": "a"}, ["body", "payload", "number"]),
        ({"number": 0, "question": "q", "answer": "a"}, ["body", "payload", "number"]),
        ({"number": 1.5, "question": "q", "answer": "a"}, ["body", "payload", "number"]),
        ({"number": 1, "question": "a\x00b", "answer": "a"}, ["body", "payload", "question"]),
        ({"number": 1, "question": "q" * 81, "answer": "a"}, ["body", "payload", "question"]),
        ({"number": 1, "question": "q"}, ["body", "payload", "answer"]),
        ({"number": 1, "question": "q", "answer": ["a"]}, ["body", "payload", "answer"]),
    ],
)
def test_a_body_that_does_not_validate_is_422_with_the_field(api, body, path):
    code = start(api)["code"]
    response = api.post(f"/diagnoses/{code}/answers", body)
    assert response.status_code == 422
    assert response.json()["error"] == "validation"
    assert path in [f["loc"] for f in response.json()["fields"]]


def test_an_option_the_question_does_not_have_is_422(api):
    state = start(api)
    body = {"number": 1, "question": state["question"]["slug"], "answer": "no-such-option"}
    response = api.post(f"/diagnoses/{state['code']}/answers", body)
    assert response.status_code == 422 and response.json()["fields"][0]["loc"] == [
        "body",
        "payload",
        "answer",
    ]


@pytest.mark.parametrize(
    "raw", ["{", "not json", "\x00", '{"language": "en"', "[1, 2]", "null", '"en"', "1e999999"]
)
def test_a_body_that_is_not_a_json_object_is_400_or_422(api, raw):
    response = api.post("/diagnoses", raw=raw)
    assert response.status_code in (400, 422), response.content
    assert response.json()["error"] in ("bad-request", "validation")


def test_a_huge_or_deeply_nested_body_is_400(api):
    deep = api.post("/diagnoses", raw="[" * 100_000 + "]" * 100_000)
    assert deep.status_code == 400 and deep.json()["error"] == "bad-request"
    huge = api.post("/diagnoses", raw=json.dumps({"language": "en", "description": "x" * 3_000_000}))
    assert huge.status_code == 400 and huge.json()["error"] == "bad-request"
    broken = api.client.post(f"{API}/diagnoses", b"\xff\xfe{", content_type="application/json", **api.headers)
    assert broken.status_code == 400


def test_start_checks_its_fields(api):
    for body, field in [
        ({"language": "fr"}, "language"),
        ({}, "language"),
        ({"language": "en", "description": "x" * 1001}, "description"),
        ({"language": "en", "description": "bad\x00text"}, "description"),
    ]:
        response = api.post("/diagnoses", body)
        assert response.status_code == 422, body
        assert ["body", "payload", field] in [f["loc"] for f in response.json()["fields"]]


def test_an_escalation_needs_consent_and_a_mobile_number(api):
    code = start(api)["code"]
    response = api.post(
        f"/diagnoses/{code}/escalation", {"name": "王", "phone": "12345", "has_consent": False}
    )
    assert response.status_code == 422
    wrong = {tuple(f["loc"]) for f in response.json()["fields"]}
    assert {("body", "payload", "phone"), ("body", "payload", "has_consent")} <= wrong
    assert Ticket.objects.count() == 0


def test_an_outcome_names_steps_that_exist(api):
    code = start(api)["code"]
    for body, field in [
        ({"fixed": True}, "solution"),
        ({"fixed": True, "solution": "no-such-step"}, "solution"),
        ({"fixed": False, "tried": ["no-such-step"]}, "tried"),
        ({"fixed": False}, "tried"),
    ]:
        response = api.post(f"/diagnoses/{code}/outcome", body)
        assert response.status_code == 422, body
        assert response.json()["fields"][0]["loc"] == ["body", "payload", field]


@pytest.mark.parametrize("code", ["ZZZZZZZZZZ", "nope", "A" * 3000, "１２３"])
def test_an_unknown_code_is_404(api, code):
    response = api.get(f"/diagnoses/{code}")
    assert response.status_code == 404 and response.json()["error"] == "not-found"


def test_an_unknown_code_is_404_as_json(api):
    response = api.post("/diagnoses/ZZZZZ-ZZZZZ/answers", {"number": 1, "question": "q", "answer": "a"})
    assert response.status_code == 404 and response.json()["error"] == "not-found"


def test_an_address_or_method_the_api_does_not_have_is_a_json_error(api):
    missing = api.get("/nothing/here")
    assert missing.status_code == 404 and missing.json()["error"] == "not-found"
    wrong = api.client.delete(f"{API}/diagnoses", **api.headers)
    assert (
        wrong.status_code == 405
        and wrong.json()["error"] == "method-not-allowed"
        and "POST" in wrong["Allow"]
    )
    for path in (f"{API}/diagnoses/AB%00CD", f"{API}/knowledge/causes?language=e%00n"):
        nul = api.client.get(path, **api.headers)
        assert nul.status_code == 400 and nul.json()["error"] == "bad-request"


# --- CORS ----------------------------------------------------------------------------------


def test_a_preflight_from_an_allowed_origin_is_answered(api):
    client = Client()
    ok = client.options(
        f"{API}/diagnoses",
        HTTP_ORIGIN=ORIGIN,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )
    assert ok.status_code == 204 and ok["Access-Control-Allow-Origin"] == ORIGIN
    assert (
        "Authorization" in ok["Access-Control-Allow-Headers"] and "POST" in ok["Access-Control-Allow-Methods"]
    )
    refused = client.options(
        f"{API}/diagnoses", HTTP_ORIGIN="https://evil.example.com", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
    )
    assert "Access-Control-Allow-Origin" not in refused


def test_a_browser_gets_the_answer_only_on_its_integrations_origins(seeded, integration, other):
    secret = issue(integration)
    mine = Api(secret, HTTP_ORIGIN=ORIGIN).post("/diagnoses", {"language": "en"})
    assert mine.status_code == 201 and mine["Access-Control-Allow-Origin"] == ORIGIN
    assert "Origin" in mine["Vary"]
    # Another integration's origin, with this key: no CORS headers, the browser keeps it from the page.
    theirs = Api(secret, HTTP_ORIGIN="https://bank.example.com").post("/diagnoses", {"language": "en"})
    assert "Access-Control-Allow-Origin" not in theirs
    unknown = Api(secret, HTTP_ORIGIN="https://evil.example.com").post("/diagnoses", {"language": "en"})
    assert "Access-Control-Allow-Origin" not in unknown
    keyless = Api(HTTP_ORIGIN=ORIGIN).post("/diagnoses", {"language": "en"})
    assert keyless.status_code == 401 and keyless["Access-Control-Allow-Origin"] == ORIGIN


# --- Across channels -----------------------------------------------------------------------


def test_an_api_diagnosis_opens_in_the_wizard_and_the_agent_console(api, client):
    state = start(api)
    resumed = client.get(f"/d/{state['code']}/")
    assert resumed.status_code == 303 and resumed["Location"].endswith("/q/1/")
    page = client.get(resumed["Location"])
    assert page.status_code == 200 and f'data-question="{state["question"]["slug"]}"' in page.content.decode()
    agent = get_user_model().objects.create_user("agent-api")
    roles.grant(agent, roles.AGENT)
    client.force_login(agent)
    console = client.get(f"/agent/case/{state['code']}/")
    assert console.status_code == 200 and state["code"] in console.content.decode()
    assert state["wizard_url"].endswith(f"/d/{state['code']}/")


def test_a_wizard_diagnosis_is_read_and_answered_through_the_api(api, client):
    client.post("/start/")
    diagnosis = Diagnosis.objects.get()
    state = api.get(f"/diagnoses/{diagnosis.code}").json()
    assert state["channel"] == "self" and state["question"]["number"] == 1
    done = answer_all(api, state)
    assert done["result"] is not None
    assert client.get(f"/d/{diagnosis.code}/result/").status_code == 200


# --- Knowledge -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["causes", "symptoms", "questions", "solutions", "providers"])
def test_the_published_knowledge_is_readable_with_knowledge_read(seeded, integration, kind):
    reader = Api(issue(integration, "knowledge-read"))
    zh, en = reader.get(f"/knowledge/{kind}").json(), reader.get(f"/knowledge/{kind}", language="en").json()
    assert zh["revision"] == seeded.number and zh["items"] and len(zh["items"]) == len(en["items"])
    assert zh["items"] != en["items"]  # in the language asked for
    assert reader.get(f"/knowledge/{kind}", language="fr").status_code == 422


# --- Documentation -------------------------------------------------------------------------


def test_the_openapi_document_is_valid_and_lists_every_operation(client):
    import schemathesis

    document = client.get(f"{API}/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document)
    schema.validate()  # against the OpenAPI 3.1 meta-schema
    paths = document["paths"]
    assert {"/api/v1/diagnoses", "/api/v1/diagnoses/{code}/answers", "/api/v1/knowledge/causes"} <= set(paths)
    assert {"BearerKey", "HeaderKey"} <= set(document["components"]["securitySchemes"])


def test_the_docs_page_works_under_the_strict_csp(client):
    response = client.get(f"{API}/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "cdn" not in html.lower() and "<script>" not in html and " style=" not in html
    assert 'data-operation="' in html and "/api/v1/diagnoses/{code}/answers" in html


def test_every_issued_key_is_found_whatever_its_random_part(db, integration):
    # The random part is URL-safe base64, which has "_" in about half of all keys.
    secrets_ = [ApiKey.issue(integration, f"k{i}", ["diagnose"])[1] for i in range(40)]
    assert any(secret.count("_") > 2 for secret in secrets_)
    assert all(ApiKey.find(secret) is not None for secret in secrets_)


def test_cors_and_framing_read_the_same_origins(db):
    """One reading of the allowed origins for CORS and the embed: as browsers send them
    (lower case, no trailing slash), and a line that is not an origin counts for nothing."""
    Integration.objects.create(
        name="Shop",
        slug="shop",
        allowed_origins="HTTPS://Shop.Example.com/\nhttps://x.example.com/path; script-src *\n",
    )
    shop = Integration.objects.get(slug="shop")
    assert shop.origins == ["https://shop.example.com"]

    def preflight(origin):
        return Client().options(
            f"{API}/diagnoses", HTTP_ORIGIN=origin, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST"
        )

    assert preflight("https://shop.example.com")["Access-Control-Allow-Origin"] == "https://shop.example.com"
    assert "Access-Control-Allow-Origin" not in preflight("https://x.example.com/path; script-src *")
