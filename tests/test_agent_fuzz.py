"""Random and tampered input to every agent endpoint never gets a 500."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wizard.models import Diagnosis, KnowledgeRevision

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
    urls = [
        reverse("wizard:agent-home"),
        reverse("wizard:agent-start"),
        reverse("wizard:agent-open"),
        reverse("wizard:agent-case", args=[code]),
        reverse("wizard:agent-finish", args=[code]),
        reverse("wizard:agent-notes", args=[code]),
        reverse("wizard:agent-outcome", args=[code]),
        reverse("wizard:agent-summary", args=[code]),
        reverse("wizard:agent-state", args=[code]),
        reverse("wizard:agent-ticket", args=["T-NOPE"]),
        reverse("wizard:agent-ticket-status", args=["T-NOPE"]),
        reverse("wizard:agent-answer", args=[code, number]),
    ]
    for url in urls:
        response = getattr(agent_client, method)(url, data)
        assert response.status_code < 500, (url, data)
