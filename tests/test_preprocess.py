"""Tests of pcnstudy.themes.preprocess: tokens, stop words, lemmas, seed matching, collocations."""
from __future__ import annotations

from nltk.collocations import BigramCollocationFinder
from nltk.metrics import BigramAssocMeasures
from nltk.tokenize import RegexpTokenizer

from pcnstudy.themes.preprocess import (
    TOKEN_PATTERN,
    compile_seed_terms,
    find_collocations,
    lemma,
    load_stopwords,
    match_seed_terms,
    prepare_corpus,
    stem,
    strip_placeholders,
    tokenize,
)


def test_tokenize_lowercases_and_drops_placeholders_digits_punctuation():
    tokens = tokenize("Thanks [NAME], call 07700 900123 or [EMAIL]! Don't stop; Protected Time.")
    assert tokens == ["thanks", "call", "or", "don't", "stop", "protected", "time"]
    assert tokenize(None) == [] and tokenize(float("nan")) == []


def test_curated_stopwords_keep_words_that_matter_and_add_domain_words():
    words = load_stopwords()
    for kept in ("work", "working", "together", "system", "systems", "team", "time"):
        assert kept not in words
    for dropped in ("the", "and", "pcn", "practice", "programme"):
        assert dropped in words
    assert "pcn" not in load_stopwords(domain=False)
    assert "zebra" in load_stopwords(extra=["Zebra"])


def test_seed_terms_match_inflections_and_phrases_but_not_derivations():
    compiled = compile_seed_terms(["get to know", "protected time", "trust", "helpful", "Trust"])
    assert compiled == [("get", "to", "know"), ("protect", "time"), ("trust",), ("helpful",)]
    corpus = prepare_corpus(["Getting to know colleagues; they trusted me.",
                             "Time was protected but not protected time? yes: Protected Time",
                             "they helped me", "know to get"], collocations=False)
    found = [match_seed_terms(doc, compiled) for doc in corpus.lemmas]
    assert found[0] == [("get", "to", "know"), ("trust",)]
    assert found[1] == [("protect", "time")]
    assert found[2] == []  # "helped" is not "helpful"
    assert found[3] == []  # words present but not in order


def test_collocations_found_and_placeholders_never_become_terms():
    texts = ["protected time helped me [NAME]", "more protected time please [NAME]",
             "protected time is rare", "social prescriber joined", "the social prescriber helped",
             "our social prescriber", "time to meet [NAME] [NAME]"] * 2
    corpus = prepare_corpus(texts, min_count=3)
    assert ("protect", "time") in corpus.collocations
    assert ("social", "prescrib") in corpus.collocations
    assert "protect_time" in corpus.terms[0]
    assert corpus.surface["protect_time"] == "protected time"
    every_term = {t for doc in corpus.terms for t in doc}
    assert not any("name" in t for t in every_term)


def test_find_collocations_requires_frequency_and_positive_pmi():
    docs = [["care", "home"]] * 3 + [["care", "plan"]] + [["home", "visit"]] * 2
    assert find_collocations(docs, min_count=3) == [("care", "home")]
    assert find_collocations(docs, min_count=4) == []


def test_stem_is_snowball_english():
    assert stem("relationships") == "relationship" and stem("prescribers") == "prescrib"


def test_multiword_seed_phrases_join_as_terms_even_when_rare():
    corpus = prepare_corpus(["a breathing space at last"], seed_phrases=[("breathe", "space")], collocations=False)
    assert "breath_space" in corpus.terms[0]


def test_lemma_keeps_suppletive_forms_as_written():
    assert lemma("appointments") == "appointment" and lemma("waited") == "wait"
    assert lemma("better") == "better" and lemma("worse") == "worse" and lemma("went") == "went"
    assert match_seed_terms([lemma(t) for t in tokenize("I feel good")], compile_seed_terms(["feel better"])) == []


def test_repeated_texts_share_their_preprocessing_and_collocations_count_every_copy():
    texts = ["Protected time to reflect", "protected time helps", "Protected time to reflect", None,
             "social prescriber joined", "social prescriber joined", "the social prescriber"]
    corpus = prepare_corpus(texts, collocations=False)
    assert corpus.terms[0] is corpus.terms[2] and corpus.terms[3] == []
    assert corpus.stems == prepare_corpus(list(dict.fromkeys(texts)) and texts, collocations=False).stems
    finder = BigramCollocationFinder.from_documents([list(d) for d in corpus.terms])
    finder.apply_freq_filter(2)
    pmi = dict(finder.score_ngrams(BigramAssocMeasures().pmi))
    ranked = sorted(finder.score_ngrams(BigramAssocMeasures().likelihood_ratio), key=lambda it: (-it[1], it[0]))
    assert find_collocations(corpus.terms, min_count=2) == [b for b, _ in ranked if pmi.get(b, 0) > 0]


def test_tokenize_gives_the_tokens_of_nltks_regexp_tokenizer():
    texts = ["Don't 'quote' me: rock'n'roll, O'Neill's x''y café naïve 2nd-line e-mail",
             "it’s the team’s time [NAME] [NHS_NUMBER] ''' a'b'c' \n NEW\tline", ""]
    nltk_tokens = RegexpTokenizer(TOKEN_PATTERN)
    for text in texts:
        clean = strip_placeholders(text).replace("\u2019", "'").lower()
        expected = [t.strip("'") for t in nltk_tokens.tokenize(clean) if t.strip("'")]
        assert tokenize(text) == expected


def test_weighted_counts_equal_the_plain_count_in_key_order():
    """Word and bigram counts of documents seen once or several times: the values and the
    keys' order of counting every token one by one."""
    from collections import Counter

    from pcnstudy.themes.preprocess import _weighted_counts

    docs = [["b", "a", "b"], ["c"], [], ["a", "d", "a"], ["d", "b"]]
    times = [1, 3, 2, 1, 4]
    words, pairs = Counter(), Counter()
    for doc, k in zip(docs, times):
        for w in doc:
            words[w] += k
        for pair in zip(doc, doc[1:]):
            pairs[pair] += k
    got_words, got_pairs = _weighted_counts(docs, times)
    assert list(got_words.items()) == list(words.items())
    assert list(got_pairs.items()) == list(pairs.items())
