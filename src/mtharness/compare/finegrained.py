"""Fine-grained differences between systems, in the spirit of compare-mt (Neubig et al., 2019).

- salient n-grams: the reference n-grams one system produces and the other misses, ranked by a
  smoothed share of the matches, so a frequent n-gram needs a clear margin to rank high;
- word F-measure by frequency bucket: how well each system gets rare vs frequent words right
  (frequency counted in the references, the only corpus a comparison always has);
- sentence-score histograms: how the sentence-level score is spread, not only its mean.

Words are sacrebleu's BLEU tokens for the target language (13a; zh by character groups; ja/ko by
character), compared case-sensitively, with clipped counts as in BLEU's n-gram matching.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

FREQ_BUCKETS: tuple[tuple[int, int | None], ...] = (
    (1, 1),
    (2, 2),
    (3, 4),
    (5, 9),
    (10, 99),
    (100, 999),
    (1000, None),
)
HIST_EDGES = tuple(range(0, 101, 10))
SMOOTHING = 1.0


def tokenizer(trg_lang: str) -> Callable[[str], list[str]]:
    """Word splitter for the target language (sacrebleu's own tokenizers)."""
    if trg_lang == "zh":
        from sacrebleu.tokenizers.tokenizer_zh import TokenizerZh

        zh = TokenizerZh()
        return lambda text: zh(text).split()
    if trg_lang in ("ja", "ko"):
        return lambda text: [c for c in text if not c.isspace()]
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

    t13a = Tokenizer13a()
    return lambda text: t13a(text).split()


def _ngrams(words: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))


def _matches(hyp: Sequence[str], refs: Sequence[Sequence[str]], max_n: int) -> Counter[tuple[str, ...]]:
    """Clipped matches of every n-gram (n <= max_n) of one hypothesis against its references."""
    out: Counter[tuple[str, ...]] = Counter()
    for n in range(1, max_n + 1):
        ref_max: Counter[tuple[str, ...]] = Counter()
        for ref in refs:
            ref_max |= _ngrams(ref, n)
        out.update(_ngrams(hyp, n) & ref_max)
    return out


def salient_ngrams(
    a: Sequence[Sequence[str]],
    b: Sequence[Sequence[str]],
    refs: Sequence[Sequence[Sequence[str]]],
    k: int = 10,
    max_n: int = 4,
    min_count: int = 2,
) -> dict[str, list[dict[str, Any]]]:
    """The n-grams A matches in the references more than B does, and the other way round.

    ``refs[j][i]`` is reference j of segment i (tokenised). Score = (mA + s) / (mA + mB + 2s), the
    smoothed share of A's matches; n-grams matched fewer than ``min_count`` times in all are skipped.
    """
    ma: Counter[tuple[str, ...]] = Counter()
    mb: Counter[tuple[str, ...]] = Counter()
    for i in range(len(a)):
        seg_refs = [r[i] for r in refs]
        ma.update(_matches(a[i], seg_refs, max_n))
        mb.update(_matches(b[i], seg_refs, max_n))
    rows: list[tuple[float, int, int, str]] = []
    for gram in set(ma) | set(mb):
        x, y = ma[gram], mb[gram]
        if x + y >= min_count:
            rows.append(((x + SMOOTHING) / (x + y + 2 * SMOOTHING), x, y, " ".join(gram)))

    def as_json(row: tuple[float, int, int, str]) -> dict[str, Any]:
        return {"ngram": row[3], "a": row[1], "b": row[2], "score": round(row[0], 4)}

    a_first = sorted(rows, key=lambda r: (-r[0], -r[1], r[3]))
    b_first = sorted(rows, key=lambda r: (r[0], -r[2], r[3]))
    return {
        "a_better": [as_json(r) for r in a_first[:k] if r[0] > 0.5],
        "b_better": [as_json(r) for r in b_first[:k] if r[0] < 0.5],
    }


def _bucket(freq: int) -> str:
    for lo, hi in FREQ_BUCKETS:
        if freq >= lo and (hi is None or freq <= hi):
            return f"{lo}" if lo == hi else (f"{lo}+" if hi is None else f"{lo}-{hi}")
    return "0"


def word_f_by_frequency(
    hyps: Sequence[Sequence[str]], refs: Sequence[Sequence[Sequence[str]]]
) -> list[dict[str, Any]]:
    """Precision, recall and F1 of words per reference-frequency bucket (first reference's counts).

    A hypothesis word takes the bucket of its frequency in the references (0 if unseen); matches
    are clipped per segment against the first reference."""
    freq: Counter[str] = Counter(w for ref in refs[0] for w in ref)
    match: Counter[str] = Counter()
    in_hyp: Counter[str] = Counter()
    in_ref: Counter[str] = Counter()
    for hyp, ref in zip(hyps, refs[0], strict=True):
        h_counts, r_counts = Counter(hyp), Counter(ref)
        for w, c in (h_counts & r_counts).items():
            match[_bucket(freq[w])] += c
        for w, c in h_counts.items():
            in_hyp[_bucket(freq[w])] += c
        for w, c in r_counts.items():
            in_ref[_bucket(freq[w])] += c
    out = []
    labels = ["0"] + [_bucket(lo) for lo, _ in FREQ_BUCKETS]
    for label in labels:
        if not in_hyp[label] and not in_ref[label]:
            continue
        p = match[label] / in_hyp[label] if in_hyp[label] else 0.0
        r = match[label] / in_ref[label] if in_ref[label] else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        out.append(
            {
                "bucket": label,
                "ref_words": in_ref[label],
                "hyp_words": in_hyp[label],
                "precision": round(p, 4),
                "recall": round(r, 4),
                "f1": round(f, 4),
            }
        )
    return out


def histogram(scores: Sequence[float], edges: Sequence[int] = HIST_EDGES) -> list[int]:
    """Counts of sentence scores per bin [e_i, e_i+1); the last bin includes its upper edge."""
    counts = [0] * (len(edges) - 1)
    for s in scores:
        i = next((j for j in range(len(edges) - 1) if s < edges[j + 1]), len(edges) - 2)
        counts[max(0, i)] += 1
    return counts
