"""The pre-moderation filter: flags insults and slurs in French and English text (pure).

It never decides. A hit means "a person must look at this before it is published"; the caller holds
the content and sends it to human review, and discloses that automated means flagged it
(COMMON-MODERATION-1, LAW-DSA-16, LAW-DSA-17; CARPOOL-RATING-1: ratings must not insult).

How text is compared with the word list (`data/terms.txt`), on both sides:
- accents and case: "Enculé", "ENCULE" and "encule" are one word (Unicode NFKD, marks dropped,
  casefolded; "œ" becomes "oe");
- leet-speak: digits inside a word that has letters ("c0nn4rd"), and "@", "$", "!", "|", "€" before a
  letter ("@sshole", "b!tch"), read as the letters they imitate ("1" is tried as "i" and as "l");
- stretched letters: "connnnard" and "fuuuuck" are the listed words; a run of three or more of one
  letter counts as one or two, so "fagot" (a bundle of sticks) is not "faggot";
- separators: letters split by dots, dashes, stars or spaces ("c.o.n.n.a.r.d", "s a l o p e",
  "con-nard") are joined back; "*" inside a word stands for any one letter ("p*te");
- word boundaries: only whole words (or whole runs of words, "fils de pute") match, so an innocent
  word containing a listed one ("salopette", "Scunthorpe", "assistant") is never a hit.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

RULES = ("COMMON-MODERATION-1", "LAW-DSA-16")
CATEGORIES = ("insult", "slur")
LANGUAGES = ("fr", "en")

_LEET_DIGITS = {
    "0": "o",
    "1": "i",
    "2": "z",
    "3": "e",
    "4": "a",
    "5": "s",
    "6": "g",
    "7": "t",
    "8": "b",
    "9": "g",
}
_LEET_SYMBOLS = {"@": "a", "$": "s", "!": "i", "|": "i", "€": "e", "+": "t"}
_MASK = "*"
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Term:
    lang: str
    category: str
    words: tuple[str, ...]  # normalised

    @property
    def text(self) -> str:
        return " ".join(self.words)


@dataclass(frozen=True)
class Hit:
    term: str  # the listed term, normalised
    lang: str
    category: str
    start: int  # the matched span in the original text
    end: int
    excerpt: str  # the original text of the span


@dataclass(frozen=True)
class FilterResult:
    """What the filter saw. `flagged` means: hold and send to human review (never: refuse)."""

    hits: tuple[Hit, ...]
    automated: bool = True  # disclosed in the statement of reasons (LAW-DSA-17)
    rules: tuple[str, ...] = RULES

    @property
    def flagged(self) -> bool:
        return bool(self.hits)

    def evidence(self) -> dict[str, object]:
        """The hits as JSON values, for a moderation item: what matched, where, by which means."""
        return {
            "automated": True,
            "means": "content filter (word list with normalisation)",
            "rules": list(self.rules),
            "hits": [
                {
                    "term": h.term,
                    "lang": h.lang,
                    "category": h.category,
                    "start": h.start,
                    "end": h.end,
                    "excerpt": h.excerpt,
                }
                for h in self.hits
            ],
        }


def _fold(ch: str) -> str:
    """One character without accents, casefolded (possibly several characters: "œ" -> "oe")."""
    out = []
    for c in unicodedata.normalize("NFKD", ch):
        if unicodedata.combining(c):
            continue
        out.append(c.casefold())
    folded = "".join(out)
    return folded.replace("œ", "oe").replace("æ", "ae").replace("ß", "ss")


@dataclass(frozen=True)
class _Piece:
    """A run of letters (and masks) inside one whitespace chunk, with its original span."""

    forms: tuple[str, ...]  # normalised spellings (several when a "1" may be "i" or "l")
    start: int
    end: int


def _chunk_pieces(chunk: str, offset: int) -> tuple[list[_Piece], _Piece | None]:
    """Split one whitespace-free chunk into letter runs; and the whole chunk joined (for "c.o.n")."""
    has_letter = any(_fold(c).isalpha() for c in chunk)
    chars: list[tuple[str, int]] = []  # (normalised char or "" for a separator, original index)
    for i, c in enumerate(chunk):
        if c in _LEET_DIGITS and has_letter:
            chars.append(("1" if c == "1" else _LEET_DIGITS[c], i))
            continue
        if c in _LEET_SYMBOLS:
            nxt = chunk[i + 1] if i + 1 < len(chunk) else ""
            if nxt and (_fold(nxt).isalpha() or nxt in _LEET_DIGITS or nxt in _LEET_SYMBOLS):
                chars.append((_LEET_SYMBOLS[c], i))
                continue
        if c == _MASK and has_letter:
            chars.append((_MASK, i))
            continue
        f = _fold(c)
        if f and all(x.isalpha() for x in f):
            for x in f:
                chars.append((x, i))
        else:
            chars.append(("", i))
    pieces: list[_Piece] = []
    run: list[tuple[str, int]] = []
    for item in [*chars, ("", len(chunk))]:
        if item[0]:
            run.append(item)
            continue
        if run:
            pieces.append(_piece(run, offset))
            run = []
    letters = [c for c in chars if c[0]]
    joined = _piece(letters, offset) if len(pieces) > 1 else None
    return pieces, joined


def _piece(run: list[tuple[str, int]], offset: int) -> _Piece:
    text = "".join(c for c, _ in run)
    forms = (text.replace("1", "i"), text.replace("1", "l")) if "1" in text else (text,)
    return _Piece(tuple(dict.fromkeys(forms)), offset + run[0][1], offset + run[-1][1] + 1)


def _squeeze(word: str, keep: int) -> str:
    """Runs of one letter longer than `keep` cut to `keep`."""
    return re.sub(r"(.)\1+", lambda m: m.group(1) * min(len(m.group(0)), keep), word)


def _same(form: str, word: str) -> bool:
    """Is the written `form` the listed `word`? Exact, masked ("p*te"), or stretched ("connnnard")."""
    if _MASK in form:
        if len(form) != len(word):
            return False
        return all(a in (_MASK, b) for a, b in zip(form, word, strict=True)) and form.count(_MASK) < len(word)
    if form == word:
        return True
    # stretched: a run of 3+ stands for one or two of that letter
    if re.search(r"(.)\1\1", form) and len(form) > len(word) and _squeeze(form, 1) == _squeeze(word, 1):
        return _stretch_fits(form, word)
    return False


def _runs(word: str) -> list[tuple[str, int]]:
    return [(m.group(1), len(m.group(0))) for m in re.finditer(r"(.)\1*", word)]


def _stretch_fits(form: str, word: str) -> bool:
    """Every run of `form` is the run of `word` itself, or a run of 3+ standing for it."""
    a, b = _runs(form), _runs(word)
    if len(a) != len(b):
        return False
    return all(
        ca == cb and (na == nb or (na >= 3 and na > nb)) for (ca, na), (cb, nb) in zip(a, b, strict=True)
    )


def _word_matches(form: str, word: str) -> bool:
    if _same(form, word):
        return True
    for suffix in ("s", "x"):  # plurals: "connards", "salauds"
        if form.endswith(suffix) and len(form) > len(word) and _same(form[: -len(suffix)], word):
            return True
    return False


def normalise_word(word: str) -> str:
    """A listed word as the filter stores it: no accents, lower case, letters only."""
    return "".join(x for c in word for x in _fold(c) if x.isalpha())


def parse_terms(lines: Iterable[str]) -> tuple[Term, ...]:
    """The word list's lines (`lang<TAB>category<TAB>term`; `#` comments) as terms."""
    terms: list[Term] = []
    for n, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3 or parts[0] not in LANGUAGES or parts[1] not in CATEGORIES:
            raise ValueError(f"line {n}: expected 'lang<TAB>category<TAB>term', got {raw!r}")
        words = tuple(w for w in (normalise_word(x) for x in parts[2].split()) if w)
        if not words:
            raise ValueError(f"line {n}: an empty term")
        terms.append(Term(parts[0], parts[1], words))
    return tuple(terms)


@lru_cache(maxsize=1)
def default_terms() -> tuple[Term, ...]:
    """The shipped word list (`contentfilter/data/terms.txt`)."""
    text = resources.files("entremise.contentfilter").joinpath("data/terms.txt").read_text("utf-8")
    return parse_terms(text.splitlines())


def _pieces(text: str) -> Iterator[tuple[list[_Piece], _Piece | None]]:
    for m in _WORD.finditer(text):
        yield _chunk_pieces(m.group(0), m.start())


def _sequence(text: str) -> list[_Piece]:
    """The text's words in order; single letters spaced out ("s a l o p e") joined into one."""
    words: list[_Piece] = []
    for pieces, joined in _pieces(text):
        if joined is not None and all(len(p.forms[0]) == 1 for p in pieces):
            words.append(joined)  # "c.o.n.n.a.r.d" is one word
        else:
            words.extend(pieces)
    merged: list[_Piece] = []
    i = 0
    while i < len(words):  # "s a l o p e": single letters in a row, across spaces
        j = i
        while j < len(words) and len(words[j].forms[0]) == 1 and len(words[j].forms) == 1:
            j += 1
        if j - i >= 3:
            merged.append(
                _Piece(("".join(w.forms[0] for w in words[i:j]),), words[i].start, words[j - 1].end)
            )
            i = j
        else:
            merged.append(words[i])
            i += 1
    return merged


def scan(text: str, terms: tuple[Term, ...] | None = None) -> FilterResult:
    """Every listed term found in `text`, as whole words, after normalisation."""
    terms = default_terms() if terms is None else terms
    hits: dict[tuple[int, int, str], Hit] = {}
    seq = _sequence(text)

    def add(term: Term, start: int, end: int) -> None:
        hits.setdefault(
            (start, end, term.text), Hit(term.text, term.lang, term.category, start, end, text[start:end])
        )

    for term in terms:
        n = len(term.words)
        for i in range(len(seq) - n + 1):
            if all(any(_word_matches(f, w) for f in seq[i + k].forms) for k, w in enumerate(term.words)):
                add(term, seq[i].start, seq[i + n - 1].end)
        if n == 1:  # "con-nard", "sal.ope": the pieces of one chunk joined back
            for _split, joined in _pieces(text):
                if joined is not None and any(_word_matches(f, term.words[0]) for f in joined.forms):
                    add(term, joined.start, joined.end)
    ordered = sorted(hits.values(), key=lambda h: (h.start, h.end, h.term))
    return FilterResult(tuple(ordered))
