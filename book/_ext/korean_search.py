"""A Korean search language for Sphinx's built-in HTML search.

Sphinx has no Korean search language. With ``language = "ko"`` it falls back to English and splits
words on white space, so a Korean word is indexed only together with the particle or ending glued
to it: ``인증서를`` is in the index, ``인증서`` is not. The search page matches short queries
(one or two syllables) only exactly, so ``키``, ``그룹`` or ``서명`` found nothing on pages that
say ``키를``, ``그룹에``, ``서명합니다``.

:class:`SearchKorean` fixes this on the indexing side. For every run of Hangul in a word it
indexes, next to the word itself:

* the stems left after removing common particles and endings (``키를`` -> ``키``,
  ``서명합니다`` -> ``서명``, ``그룹에서도`` -> ``그룹에서``, ``그룹``), and
* every prefix of two to six syllables (``인증서를`` -> ``인증``, ``인증서``, ...), so a word is
  found even when its ending is not in the list. One-syllable prefixes are left out on purpose:
  ``키`` should find ``키를`` but not ``키워드``.

Latin words keep English behaviour (Porter stemming, English stop words), and a word that mixes
scripts (``kubectl을``, ``CN과``) is also indexed by its parts. The JavaScript side stems only
non-Korean query words, so a Korean query is looked up exactly as typed.

Enable it in ``_config.yml``::

    sphinx:
      local_extensions:
        korean_search: book/_ext
      config:
        language: ko
"""

from __future__ import annotations

import re

from sphinx.search.en import SearchEnglish

# Particles (조사) and endings (어미, 서술격 조사) that follow a noun in the book's prose,
# longest first so that "에서" wins over "서" style accidents.
# (the formatter would put each particle on a line of its own; one line per group reads better)
# fmt: off
SUFFIXES = tuple(sorted({
    # case particles
    "이", "가", "은", "는", "을", "를", "의", "에", "에서", "에게", "에게서", "한테", "께",
    "으로", "로", "으로서", "로서", "으로써", "로써", "와", "과", "랑", "이랑", "하고",
    # auxiliary particles
    "도", "만", "까지", "부터", "마다", "조차", "마저", "뿐", "밖에", "보다", "처럼", "같이",
    "이나", "나", "이든", "든", "이라도", "라도", "이란", "란", "이라는", "라는", "이라고", "라고",
    "과의", "와의", "에서의", "으로의", "로의", "에의", "에는", "에도", "에만", "에서는", "에서도",
    "으로는", "로는", "으로도", "로도", "과는", "와는", "과도", "와도", "만을", "만의", "까지의",
    "부터의", "처럼의",
    # copula and 하다/되다 verbs made from nouns
    "이다", "다", "입니다", "이며", "이고", "이면", "인", "인지", "일", "이었습니다", "였습니다",
    "합니다", "했습니다", "하는", "하며", "하면", "하여", "해", "해서", "한", "할", "함",
    "하기", "하려면", "하지", "하도록", "하므로", "하면서", "하거나", "할까요", "합니까", "하세요",
    "됩니다", "되는", "된", "될", "되고", "되면", "되어", "돼", "되지", "되었습니다", "됐습니다",
    "시킵니다", "시키는", "시킨",
    "입니다만", "이지만", "지만",
}, key=len, reverse=True))
# fmt: on

HANGUL = "\u1100-\u11ff\u3130-\u318f\uac00-\ud7af"
_HANGUL_RUN = re.compile(f"[{HANGUL}]+")
_HAS_HANGUL = re.compile(f"[{HANGUL}]")
_SCRIPT_RUNS = re.compile(f"[{HANGUL}]+|[^{HANGUL}\\W]+")
MAX_PREFIX = 6


def strip_endings(word: str, rounds: int = 3) -> list[str]:
    """Return the stems of a Hangul word after removing known particles and endings.

    Args:
        word: A run of Hangul syllables, such as ``"그룹에서도"``.
        rounds: How many endings may be stacked (``에서`` + ``도`` is two).

    Returns:
        Every stem found, shortest last, without ``word`` itself (``["그룹에서", "그룹"]``).
    """
    stems: list[str] = []
    frontier = [word]
    for _ in range(rounds):
        found = []
        for current in frontier:
            for suffix in SUFFIXES:
                if current.endswith(suffix) and len(current) > len(suffix):
                    stem = current[: -len(suffix)]
                    if stem not in stems:
                        stems.append(stem)
                        found.append(stem)
        frontier = found
        if not frontier:
            break
    return stems


def korean_terms(run: str) -> list[str]:
    """Index terms for one run of Hangul: the run, its stems and its 2..6-syllable prefixes."""
    terms = [run]
    terms += strip_endings(run)
    terms += [run[:n] for n in range(2, min(len(run), MAX_PREFIX + 1))]
    return terms


class SearchKorean(SearchEnglish):
    """Korean search language: stems and prefixes for Hangul, English rules for the rest."""

    lang = "ko"
    language_name = "Korean"

    # English's Porter stemmer, wrapped so that a query word containing Hangul is not stemmed.
    js_stemmer_code = (
        SearchEnglish.js_stemmer_code
        + """
var PorterStemmer = Stemmer;
Stemmer = function() {
  var porter = new PorterStemmer();
  var hangul = /[\\u1100-\\u11ff\\u3130-\\u318f\\uac00-\\ud7af]/;
  this.stemWord = function(w) {
    return hangul.test(w) ? w : porter.stemWord(w);
  };
};
"""
    )

    def split(self, input: str) -> list[str]:
        """Split text into index terms (see the module docstring)."""
        out: list[str] = []
        for word in self._word_re.findall(input):
            out.append(word)
            if not _HAS_HANGUL.search(word):
                continue
            runs = _SCRIPT_RUNS.findall(word)
            if len(runs) > 1:  # mixed scripts: "kubectl을" -> "kubectl", "을"
                out.extend(run for run in runs if not _HAS_HANGUL.search(run))
            for run in _HANGUL_RUN.findall(word):
                if len(runs) > 1 and run in SUFFIXES:
                    continue  # the particle of "kubectl을" is no search term
                out.extend(t for t in korean_terms(run) if t != word)
        return out

    def stem(self, word: str) -> str:
        """Porter-stem Latin words; leave anything with Hangul as it is."""
        if _HAS_HANGUL.search(word):
            return word
        return super().stem(word)


def setup(app):
    app.add_search_language(SearchKorean)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
