"""Section 7 of docs/performance.md: an API step beside an HTML step, judged against 1.2×.
(The measurement itself runs in the quick benchmark, tests/test_benchmark.py.)"""

from wizard.benchmark.api import ApiStepReport, api_section, api_targets


def report(api_ms: float, html_ms: float) -> ApiStepReport:
    return ApiStepReport(
        html=[html_ms / 1000] * 5,
        api=[api_ms / 1000] * 5,
        html_queries=[9],
        api_queries=[7],
        html_bytes=2048,
        api_bytes=1024,
    )


def test_the_target_is_judged_on_the_ratio_of_the_medians():
    assert "**met**" in api_targets(report(12, 10))[0] and "1.20×" in api_targets(report(12, 10))[0]
    assert "**missed**" in api_targets(report(13, 10))[0]
    section = "\n".join(api_section(report(5, 10)))
    assert section.startswith("## 7. The JSON API") and "0.50×" in section


def test_nothing_is_reported_when_nothing_was_measured():
    assert api_targets(None) == [] and api_section(ApiStepReport()) == []
