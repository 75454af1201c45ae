"""Plain labels: cohorts by programme, items by wording (pcnstudy.core.labels), and the
paper's tables whose column widths keep every heading's words apart."""
from __future__ import annotations

import pandas as pd

from pcnstudy.core.labels import cohort_labels, domain_labels, item_labels, relabel
from pcnstudy.paper.tables import column_widths, pipe_table, shown_text

INSTRUMENT = {"domains": {"leadership": {"name": "Leadership skills"}, "systems": {}},
              "items": [{"id": "lead_1", "domain": "leadership", "text": "I am confident  leading a team"},
                        {"id": "sys_1", "domain": "systems"}],
              "feedback": [{"id": "would_recommend", "text": "I would recommend the programme"}]}


def test_cohorts_of_one_programme_are_numbered_by_start_date():
    cohorts = pd.DataFrame([
        {"cohort": "se_b", "programme": "Multiprofessional programme", "start": "2021-10-04"},
        {"cohort": "se_a", "programme": "Multiprofessional programme", "start": "2021-01-11"},
        {"cohort": "llr", "programme": "Clinical directors' programme", "start": "2020-09-01"},
        {"cohort": "new_one", "programme": None, "start": None},
    ])
    labels = cohort_labels(cohorts)
    assert labels == {"se_a": "Multiprofessional programme, cohort 1", "se_b": "Multiprofessional programme, cohort 2",
                      "llr": "Clinical directors' programme", "new_one": "new_one"}
    assert cohort_labels(cohorts.to_dict("records")) == labels  # records alike
    assert cohort_labels(None) == {}


def test_items_and_domains_are_named_by_the_instrument():
    assert item_labels(INSTRUMENT) == {"lead_1": "I am confident leading a team", "sys_1": "sys_1",
                                       "would_recommend": "I would recommend the programme"}
    assert domain_labels(INSTRUMENT) == {"leadership": "Leadership skills", "systems": "systems"}
    assert relabel(["lead_1", "other"], item_labels(INSTRUMENT)) == ["I am confident leading a team", "other"]


def test_no_column_is_narrower_than_its_longest_word():
    header = ["Cohort", "Domain", "Pairs", "Before", "After", "Mean change", "95% CI", "% change", "95% CI (%)",
              "p (Holm)", "d~z~"]
    row = ["Multiprofessional leadership programme for PCNs, cohort 1", "Understanding of complex and dynamic systems",
           "21", "2.80", "3.56", "0.76", "(0.55, 0.98)", "27.2", "(18.4, 36.6)", "<0.001", "1.62"]
    widths = column_widths(header, [row] * 3, "ll" + "r" * 9)
    for i, width in enumerate(widths):
        longest = max(len(w) for w in shown_text(header[i]).split() + shown_text(row[i]).split())
        assert width >= longest, (header[i], width)
    assert sum(widths) <= 112  # the line holds them: no column is squeezed below its words
    # number columns keep their widest cell on one line; the long text columns wrap
    assert widths[6] == len("(0.55, 0.98)") and widths[0] < len(row[0])


def test_the_old_widths_would_have_let_headings_collide():
    """The dash counts before: max(6, widest cell up to 28) per column, whatever the line held;
    pandoc then scales them to the text width, here to fewer characters than a heading word."""
    header = ["Cohort", "Domain", "Pairs", "Before", "After", "Mean change", "95% CI", "% change", "95% CI (%)",
              "p (Holm)", "d~z~"]
    row = ["se\\_cohort1", "Understanding of complex and dynamic systems", "21", "2.80", "3.56", "0.76",
           "(0.55, 0.98)", "27.2", "(18.4, 36.6)", "<0.001", "1.62"]
    old = [max(6, min(28, max(len(c.replace("\\", "")) for c in (header[i], row[i])))) for i in range(len(header))]
    scale = (112 - 1.5 * len(header)) / sum(old)
    assert any(w * scale < len("change") for w in old)  # "% change" squeezed: it ran into "95% CI"
    new = column_widths(header, [row], "ll" + "r" * 9)
    scale = (112 - 1.5 * len(header)) / sum(new)
    assert all(w * scale >= max(len(x) for x in shown_text(header[i]).split()) - 0.5 for i, w in enumerate(new))


def test_pipe_table_writes_the_widths_as_dashes():
    text = pipe_table(["Theme", "n"], [["Protected time", "12"]], "Caption", "tbl-x", "lr")
    rule = text.splitlines()[1]
    assert rule == "|:" + "-" * len("Protected time") + "|" + "-" * 4 + ":|"


def test_waves_read_as_words():
    from pcnstudy.core.labels import wave_label

    assert [wave_label(w) for w in ("baseline", "follow_up", "then", "end", "six_month")] == [
        "baseline", "follow-up", "then (retrospective)", "end", "six month"]
