"""The claim type and the claims report's headline: verdicts, reasons, skipped claims."""

import dataclasses

import pytest

from ghostlearn.experiments.base import Claim
from ghostlearn.experiments.claims import census_lines, claims_markdown, collect_claims, headline


def _claim(**kw):
    return Claim(figure="f", claim="c", paper=1, measured=2, **kw)


@pytest.mark.parametrize(("ok", "verdict"), [(True, "reproduced"), (False, "differs")])
def test_outcome_gives_the_verdict(ok, verdict):
    assert _claim(reproduced=ok, reason="rule").verdict == verdict


def test_skip_wins_and_says_why():
    c = _claim(reproduced=True, skip="needs paper fidelity", reason="the rule")
    assert c.verdict == "skipped"
    assert c.reason == "skipped: needs paper fidelity. the rule"


def test_unknown_verdict_is_refused():
    with pytest.raises(ValueError, match="verdict must be one of .*, got 'maybe'"):
        _claim(verdict="maybe")


def test_headline_counts_only_testable_claims():
    rows = [{"verdict": v} for v in ("reproduced", "differs", "skipped", "reproduced")]
    assert headline(rows) == "2 of 3 testable claims reproduced, 1 skipped"
    assert headline([]) == "0 of 0 testable claims reproduced, 0 skipped"


def test_findings_beyond_the_paper_are_counted_apart():
    paper = [{"verdict": v} for v in ("reproduced", "differs")]
    beyond = [{"verdict": v, "beyond_paper": True} for v in ("differs", "differs", "skipped")]
    assert headline(paper + beyond) == (
        "1 of 2 testable claims reproduced, 0 skipped; beyond the paper: 0 of 2 findings as stated"
    )
    rows = [{**r, "figure": "f", "claim": f"c{i}"} for i, r in enumerate(paper + beyond)]
    text = claims_markdown(rows)
    head, tail = text.split("## Beyond the paper")
    assert "| c0 |" in head and "| c1 |" in head and "| c2 |" not in head
    assert all(f"| c{i} |" in tail for i in (2, 3, 4))
    assert dataclasses.asdict(_claim(reproduced=True))["beyond_paper"] is False


def test_collect_claims_reads_verdicts_and_legacy_rows():
    summaries = [
        {"fidelity": "quick", "claims": [
            {"claim": "a", "verdict": "skipped", "reason": "skipped: x"},
            {"claim": "b", "reproduced": True, "note": "n"},
            {"claim": "c", "reproduced": False},
        ]},
    ]  # fmt: skip
    rows = collect_claims(summaries)
    assert [r["verdict"] for r in rows] == ["skipped", "reproduced", "differs"]
    assert [r["reason"] for r in rows] == ["skipped: x", "n", ""]
    assert all(r["fidelity"] == "quick" for r in rows)


def test_census_lines():
    s = {"experiment": "fig3", "census_A": {"text": "a"}, "census_B": {"n": 1}, "x": 1}
    assert census_lines(s) == ["fig3 census_A: a"]
