"""Random and tampered input to every agent endpoint never gets a 500."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wizard.models import Diagnosis, KnowledgeRevision

from .conftest import wizard_url_templates

junk = st.one_of(
    st.text(max_size=40), st.sampled_from(["", "0", "-1", "99999", "unsure", "yes", "resolved", "<b>"])
)
form = st.dictionaries(
    st.sampled_from(
        [
            "question",
            "answer",
            "seen",
            "notes",
            "kind",
            "solution",
            "status",
            "merchant_number",
            "phone",
            "provider",
            "code",
            "step",
        ]
    ),
    junk,
    max_size=6,
)


# Every page of the agent console, read from the URLconf; signing out would end the
# fuzzing agent's session, so it is left out.
AGENT_URLS = [
    template
    for name, template in wizard_url_templates().items()
    if name.startswith("agent-") and name != "agent-logout"
]


@pytest.fixture
def agent_client(client, seeded, django_user_model):
    user = django_user_model.objects.create_user("fuzz.agent", is_staff=True)
    user.groups.add(Group.objects.get(name="Agents"))
    client.force_login(user)
    return client


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=form, number=st.integers(0, 30), method=st.sampled_from(["get", "post"]))
def test_agent_endpoints_never_fail(agent_client, data, number, method):
    diagnosis = Diagnosis.objects.order_by("pk").first() or Diagnosis.objects.create(
        revision=KnowledgeRevision.objects.latest()
    )
    code = diagnosis.code
    urls = [template.format(code=code, number=number, reference="T-NOPE") for template in AGENT_URLS]
    for url in urls:
        response = getattr(agent_client, method)(url, data)
        assert response.status_code < 500, (url, data)
