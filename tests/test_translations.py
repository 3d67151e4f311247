"""Every UI string is translated, and every non-admin page sends a strict CSP."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from wizard.models import Diagnosis

PO = Path(__file__).resolve().parent.parent / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def entries(text: str):
    """(msgid, msgstr values, flags) for every live entry of a .po file."""
    for block in text.split("\n\n"):
        lines = [line for line in block.splitlines() if not line.startswith("#~")]
        if not any(line.startswith("msgid") for line in lines):
            continue
        flags = " ".join(line for line in lines if line.startswith("#,"))
        msgid, strs, current = [], [], None
        for line in lines:
            if line.startswith("msgid "):
                current = msgid
            elif line.startswith("msgid_plural"):
                current = None
            elif line.startswith("msgstr"):
                strs.append([])
                current = strs[-1]
            elif line.startswith("#"):
                continue
            if current is not None and '"' in line:
                current.append(line[line.index('"') + 1 : line.rindex('"')])
        yield "".join(msgid), ["".join(s) for s in strs], flags


def test_every_ui_string_has_a_chinese_translation():
    text = PO.read_text(encoding="utf-8")
    problems = []
    for msgid, msgstrs, flags in entries(text):
        if not msgid:
            continue  # the header
        if "fuzzy" in flags:
            problems.append(f"fuzzy: {msgid}")
        if not msgstrs or any(not s for s in msgstrs):
            problems.append(f"untranslated: {msgid}")
        for placeholder in set(re.findall(r"%\(\w+\)s|%s", msgid)):
            if any(placeholder not in s for s in msgstrs):
                problems.append(f"placeholder {placeholder} lost: {msgid}")
    assert problems == []


@pytest.mark.skipif(
    not shutil.which("msgfmt"), reason="gettext's msgfmt is not installed (apt-get install gettext)"
)
def test_catalogue_compiles_cleanly():
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(PO)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "fuzzy" not in result.stderr and "untranslated" not in result.stderr


def test_the_catalogue_covers_the_templates():
    """A string marked in a template but missing from the catalogue is a string shown in English."""
    text = PO.read_text(encoding="utf-8")
    known = {msgid for msgid, _, _ in entries(text)}
    missing = []
    for template in (Path(__file__).resolve().parent.parent / "templates").rglob("*.html"):
        if "admin" in template.parts:
            continue
        for match in re.finditer(r'{% translate "([^"]+)" %}', template.read_text(encoding="utf-8")):
            if match.group(1) not in known:
                missing.append(f"{template.name}: {match.group(1)}")
    assert missing == []


def test_chinese_is_the_default_and_english_is_complete(client, seeded):
    zh = client.get("/").content.decode()
    assert "开始诊断" in zh or "开始" in zh
    en = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert not re.search(r"[\u4e00-\u9fff]", re.sub(r'lang="zh-hans">[^<]*<', "", en).replace("简体中文", ""))


CSP_PAGES = ["/", "/case/?code=ABCDE-FGHJK", "/agent/login/"]


def test_every_non_admin_page_sends_a_strict_csp(client, seeded, django_user_model):
    client.post(reverse("wizard:start"))
    diagnosis = Diagnosis.objects.latest("created")
    user = django_user_model.objects.create_user("csp", is_staff=True)
    user.groups.add(Group.objects.get(name="Agents"), Group.objects.get(name="Support admins"))
    pages = [
        *CSP_PAGES,
        reverse("wizard:step", args=[diagnosis.code, 1]),
        reverse("wizard:result", args=[diagnosis.code]),
        reverse("wizard:escalate", args=[diagnosis.code]),
    ]
    for url in pages:
        policy = client.get(url)["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "style-src 'self'" in policy, url
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, url
        assert "frame-ancestors 'none'" in policy, url
    client.force_login(user)
    for url in ("/agent/", "/insights/"):
        policy = client.get(url)["Content-Security-Policy"]
        assert "unsafe" not in policy, url
