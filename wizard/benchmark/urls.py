"""The whole site plus the benchmark's reference view (`manage.py benchmark`).

The reference is what a plain, well-built Django page costs on the same stack and the
same data: three indexed queries (a diagnosis by its unique case code, its revision by
primary key without the payload, its answers by the ``(diagnosis, position)`` index) and
a template of about 5 KB, rendered with the same context processors as the wizard. A
wizard step is measured against it, so the figures say what the engine and the wizard's
own work add, whatever the machine.
"""

from django.http import Http404, HttpRequest, HttpResponse
from django.template import engines
from django.urls import path
from django.views.decorators.http import require_GET

from config import urls
from wizard.models import Answer, Diagnosis, KnowledgeRevision

FILLER = (
    "This paragraph stands in for the static text of an ordinary page: explanations, "
    "notes, links and footers that any page carries besides its data. "
) * 3

TEMPLATE = engines["django"].from_string(
    """<!doctype html>
<html lang="{{ LANGUAGE_CODE|default:'zh-hans' }}">
<head><meta charset="utf-8"><title>Case {{ diagnosis.display_code }}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body hx-headers='{"X-CSRFToken": "{{ csrf_token }}"}'>
<header><h1>Case <span data-case-code="{{ diagnosis.code }}">{{ diagnosis.display_code }}</span></h1>
<p>Status: {{ diagnosis.get_status_display }} · language {{ diagnosis.language }} ·
revision {{ revision.number }} published {{ revision.created|date:"Y-m-d H:i" }} {{ revision.note }}</p></header>
<main>
<table><thead><tr><th>#</th><th>question</th><th>answer</th></tr></thead><tbody>
{% for answer in answers %}<tr><td>{{ answer.position }}</td><td>{{ answer.question }}</td><td>{{ answer.option }}</td></tr>
{% empty %}<tr><td colspan="3">No answer yet.</td></tr>{% endfor %}
</tbody></table>
{% for paragraph in filler %}<section><h2>Section {{ forloop.counter }}</h2><p>{{ paragraph }}</p></section>
{% endfor %}</main>
<footer><p>{{ diagnosis.created|date:"Y-m-d H:i" }}</p></footer>
</body></html>
"""
)


@require_GET
def reference(request: HttpRequest, code: str) -> HttpResponse:
    diagnosis = (
        Diagnosis.objects.only("code", "status", "language", "revision_id", "created")
        .filter(code=code)
        .first()
    )
    if diagnosis is None:
        raise Http404
    revision = KnowledgeRevision.objects.values("number", "created", "note").get(number=diagnosis.revision_id)
    answers = Answer.objects.filter(diagnosis_id=diagnosis.pk).order_by("position")
    context = {
        "diagnosis": diagnosis,
        "revision": revision,
        "answers": list(answers.values("position", "question", "option")),
        "filler": [FILLER] * 9,
    }
    return HttpResponse(TEMPLATE.render(context, request))


urlpatterns = [
    path("benchmark/reference/<str:code>/", reference, name="benchmark-reference"),
    *urls.urlpatterns,
]
handler404 = urls.handler404
