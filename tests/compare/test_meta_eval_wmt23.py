"""`mtharness meta-eval` on real WMT23 data, every number checked against an independent computation.

en-de MQM on the first paragraphs (whole segments, every system's block cut the same way): BLEU,
chrF and chrF++ scored here with sacrebleu directly, statistics recomputed with scipy/numpy by brute
force. zh-en DA: the PERM-BOTH and Williams tests of BLEU against chrF, seeded.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
import sacrebleu

from mtharness.cli.meta_eval import main as meta_eval_main

N_SEG = 40
SYSTEMS = [
    "AIRC",
    "GPT4-5shot",
    "Lan-BridgeMT",
    "NLLB_Greedy",
    "NLLB_MBR_BLEU",
    "ONLINE-A",
    "ONLINE-B",
    "ONLINE-W",
]


def _lines(path: Path) -> list[str]:
    """Lines as the harness reads them: a BOM dropped (AIRC.de has one), split at \\n only."""
    return path.read_text("utf-8-sig").removesuffix("\n").split("\n")


def _subset(wmt23: Path, pair: str, human: str, n: int, out: Path) -> tuple[list[Path], Path, Path]:
    """The first n lines of the reference, the systems and each system's block of the human file."""
    tgt = pair.split("-")[1]
    out.mkdir()
    ref = out / f"ref.{tgt}"
    ref.write_text("".join(f"{line}\n" for line in _lines(wmt23 / pair / f"ref.A.{tgt}")[:n]), "utf-8")
    systems = []
    for path in sorted((wmt23 / pair / "systems").glob(f"*.{tgt}")):
        dest = out / path.name
        dest.write_text("".join(f"{line}\n" for line in _lines(path)[:n]), "utf-8")
        systems.append(dest)
    blocks: dict[str, list[str]] = {}
    for line in (wmt23 / pair / "human" / human).read_text("utf-8").splitlines(True):
        blocks.setdefault(line.split("\t")[0], []).append(line)
    hfile = out / human
    hfile.write_text("".join(line for b in blocks.values() for line in b[:n]), "utf-8")
    return systems, ref, hfile


def _human(hfile: Path) -> dict[str, np.ndarray]:
    out: dict[str, list[float]] = {}
    for line in hfile.read_text("utf-8").splitlines():
        system, value = line.split("\t")
        out.setdefault(system, []).append(math.nan if value == "None" else float(value))
    return {s: np.array(v) for s, v in out.items()}


def _brute_acc(h: np.ndarray, m: np.ndarray, eps: float) -> float:
    """acc_eq of one vector at threshold eps, counting every pair."""
    i, j = np.triu_indices(len(h), 1)
    hs = np.sign(h[i] - h[j])
    d = m[i] - m[j]
    ms = np.where(np.abs(d) <= eps, 0.0, np.sign(d))
    return float(np.mean(hs == ms))


def _vectors(H: np.ndarray, M: np.ndarray, grouping: str) -> list[tuple[np.ndarray, np.ndarray]]:
    rows = {
        "none": [(H.ravel(), M.ravel())],
        "system": list(zip(H, M, strict=True)),
        "item": list(zip(H.T, M.T, strict=True)),
    }[grouping]
    out = []
    for h, m in rows:
        keep = ~np.isnan(h)
        if keep.sum() >= 2:
            out.append((h[keep], m[keep]))
    return out


def _tau23(h: np.ndarray, m: np.ndarray) -> float:
    return 2 * _brute_acc(h, m, 0.0) - 1


def _mean_defined(fn, vectors) -> float:  # type: ignore[no-untyped-def]
    values = [fn(h, m) for h, m in vectors]
    return float(np.mean([v for v in values if not math.isnan(v)]))


def _pearson(h: np.ndarray, m: np.ndarray) -> float:
    if np.all(h == h[0]) or np.all(m == m[0]):
        return math.nan
    return float(np.corrcoef(h, m)[0, 1])


def _kendall(variant: str):  # type: ignore[no-untyped-def]
    from scipy import stats as sps  # when the test runs: collection stays light

    def fn(h: np.ndarray, m: np.ndarray) -> float:
        if len(set(h)) < 2 or len(set(m)) < 2:
            return math.nan
        return float(sps.kendalltau(h, m, variant=variant).statistic)

    return fn


def _pvalues(seg: np.ndarray) -> np.ndarray:
    """WMT24's pairwise permutation p-values, written out pair by pair (float32, rng seed 4)."""
    signs = np.rint(np.random.default_rng(4).random((1000, seg.shape[1]), dtype=np.float32)) * 2 - 1
    seg = seg.astype(np.float32)
    p = np.full((len(seg), len(seg)), np.nan)
    for a, b in itertools.combinations(range(len(seg)), 2):
        null = signs @ seg[a] - signs @ seg[b]
        p[a, b] = np.mean(null >= seg[a].sum() - seg[b].sum())
    return p


@pytest.fixture(scope="module")
def en_de(wmt23: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict[str, np.ndarray], dict]:  # type: ignore[type-arg]
    out = tmp_path_factory.mktemp("meta") / "en-de"
    systems, ref, hfile = _subset(wmt23, "en-de", "mqm.seg.score", N_SEG, out)
    json_path = out / "meta.json"
    args = ["--refs", str(ref), "--systems", *map(str, systems), "--human", str(hfile)]
    assert (
        meta_eval_main(
            [
                *args,
                "--metrics",
                "bleu",
                "chrf",
                "chrfpp",
                "--permutations",
                "0",
                "--json",
                str(json_path),
                "--quiet",
            ]
        )
        == 0
    )
    refs = _lines(ref)
    hyps = {p.name.removesuffix(".de"): _lines(p) for p in systems}
    chrfpp = sacrebleu.metrics.CHRF(word_order=2)
    scores = {
        "BLEU": (
            lambda h: sacrebleu.corpus_bleu(h, [refs]).score,
            lambda h, r: sacrebleu.sentence_bleu(h, [r]).score,
        ),
        "chrF2": (
            lambda h: sacrebleu.corpus_chrf(h, [refs]).score,
            lambda h, r: sacrebleu.sentence_chrf(h, [r]).score,
        ),
        "chrF2++": (
            lambda h: chrfpp.corpus_score(h, [refs]).score,
            lambda h, r: chrfpp.sentence_score(h, [r]).score,
        ),
    }
    metric = {
        name: {
            "system": np.array([corpus(hyps[s]) for s in SYSTEMS]),
            "segment": np.array([[sent(h, r) for h, r in zip(hyps[s], refs, strict=True)] for s in SYSTEMS]),
        }
        for name, (corpus, sent) in scores.items()
    }
    return json.loads(json_path.read_text("utf-8")), _human(hfile), metric


def _table(payload: dict, level: str, statistic: str, grouping: str = "none") -> dict:  # type: ignore[type-arg]
    return next(
        t["metrics"]
        for t in payload["tables"]
        if (t["level"], t["statistic"], t["grouping"]) == (level, statistic, grouping)
    )


def test_system_level_statistics_equal_scipy(en_de) -> None:  # type: ignore[no-untyped-def]
    from scipy import stats as sps  # when the test runs: collection stays light

    payload, human, metric = en_de
    assert payload["human"]["systems"] == SYSTEMS and payload["human"]["missing_segment_scores"] > 0
    gold = np.array([np.nanmean(human[s]) for s in SYSTEMS])
    i, j = np.triu_indices(len(SYSTEMS), 1)
    for name, m in metric.items():
        sysm = m["system"]
        assert payload["system_scores"][name]["ONLINE-W"]["metric"] == pytest.approx(
            sysm[SYSTEMS.index("ONLINE-W")]
        )
        expected = {
            "pearson": sps.pearsonr(gold, sysm).statistic,
            "spearman": sps.spearmanr(gold, sysm).statistic,
            "kendall": sps.kendalltau(gold, sysm).statistic,
            "pairwise_accuracy": np.mean(np.sign(gold[i] - gold[j]) == np.sign(sysm[i] - sysm[j])),
        }
        for statistic, value in expected.items():
            assert _table(payload, "system", statistic)[name]["value"] == pytest.approx(value, abs=1e-6), (
                statistic
            )
        keep = [k for k in range(N_SEG) if not any(np.isnan(human[s][k]) for s in SYSTEMS)]
        h_seg = np.array([human[s][keep] for s in SYSTEMS])
        diff = np.abs(_pvalues(h_seg) - _pvalues(m["segment"][:, keep]))[i, j]
        spa = _table(payload, "system", "soft_pairwise_accuracy")[name]
        # float32 sums in another order can flip a resample that exactly ties the observed difference
        # (MQM gives many equal segment scores), so permutation p-values agree to 0.01, not 1e-6
        assert spa["value"] == pytest.approx(1 - diff.mean(), abs=0.01) and spa["n_segments"] == len(keep)


@pytest.mark.parametrize("grouping", ["none", "item", "system"])
def test_segment_level_statistics_equal_brute_force(en_de, grouping: str) -> None:  # type: ignore[no-untyped-def]
    payload, human, metric = en_de
    H = np.array([human[s] for s in SYSTEMS])
    for name, m in metric.items():
        vectors = _vectors(H, m["segment"], grouping)
        expected = {
            "pearson": _mean_defined(_pearson, vectors),
            "kendall_b": _mean_defined(_kendall("b"), vectors),
            "kendall_c": _mean_defined(_kendall("c"), vectors),
            "tau_23": _mean_defined(_tau23, vectors),
        }
        for statistic, value in expected.items():
            got = _table(payload, "segment", statistic, grouping)[name]["value"]
            assert got == pytest.approx(value, abs=1e-6), (statistic, name)
        acc = _table(payload, "segment", "acc_eq", grouping)[name]
        assert acc["n_pairs"] == sum(len(h) * (len(h) - 1) // 2 for h, _ in vectors)

        def at(eps: float, vectors=vectors) -> float:  # type: ignore[no-untyped-def]
            # + 1e-9: the harness's segment scores may differ from sacrebleu's here in the last bit,
            # and epsilon is exactly one pair's difference
            return float(np.mean([_brute_acc(h, mm, eps + 1e-6) for h, mm in vectors]))

        assert acc["value"] == pytest.approx(at(acc["epsilon"]), abs=1e-9), name
        candidates = np.unique(
            np.concatenate([np.abs(mm[:, None] - mm[None, :]).ravel() for _, mm in vectors])
        )
        if grouping == "none":  # too many thresholds to try them all: a seeded sample of them
            candidates = np.random.default_rng(0).choice(candidates, 300, replace=False)
        best = max(at(float(eps)) for eps in candidates)
        assert (
            acc["value"] == pytest.approx(best, abs=1e-9)
            if grouping != "none"
            else acc["value"] >= best - 1e-12
        )


@pytest.mark.slow  # scores 8 x 1976 segments and draws 2 x 6 x 200 resamples: ~45 s on a busy machine
def test_zh_en_da_perm_both_and_williams_bleu_vs_chrf(wmt23: Path) -> None:
    """chrF agrees with WMT23 zh-en DA better than BLEU, significantly; the same seed, the same p-values."""
    from scipy import stats as sps  # when the test runs: collection stays light

    from mtharness.compare.meta_eval.inputs import candidates, read_human_file
    from mtharness.compare.meta_eval.run import Settings, meta_evaluate
    from mtharness.compare.systems import compare, inputs_from_files
    from mtharness.scoring.metrics import parse_specs

    pair = wmt23 / "zh-en"
    inp = inputs_from_files(
        None, [str(pair / "ref.A.en")], sorted(map(str, (pair / "systems").glob("*.en"))), "en"
    )
    cands = candidates([compare(inp, parse_specs(["bleu", "chrf"]), None, None, 7, 0.05, 1)], True)
    human = read_human_file(str(pair / "human" / "da-sqm.seg.score"), inp.n_segments)
    runs = [
        meta_evaluate(cands, human, Settings(7, 200, groupings=("none", "item"))).to_json() for _ in range(2)
    ]
    first, second = runs
    pairs = [[t["ranking"]["pairs"] for t in r["tables"] if t["tested"]] for r in runs]
    assert pairs[0] == pairs[1] and first["williams"] == second["williams"]  # same seed, same draws
    assert first["settings"]["seed"] == 7 and first["settings"]["permutations"] == 200
    tested = {(t["level"], t["statistic"], t["grouping"]): t for t in first["tables"] if t["tested"]}
    for key in [("system", "pearson", "none"), ("segment", "pearson", "none"), ("segment", "acc_eq", "item")]:
        (test,) = tested[key]["ranking"]["pairs"]
        assert test["better"] == "chrF2" and test["resamples"] == 200 and test["p_value"] < 0.05, key
        assert tested[key]["ranking"]["ranks"] == {"chrF2": 1, "BLEU": 2}
    seg = tested[("segment", "pearson", "none")]
    (w,) = first["williams"]["segment"]
    n, ra, rb, rab = w["n"], w["r_better"], w["r_worse"], w["r_metrics"]
    assert n == first["human"]["scored_segment_scores"] and ra == pytest.approx(
        seg["metrics"]["chrF2"]["value"]
    )
    k = 1 - ra**2 - rb**2 - rab**2 + 2 * ra * rb * rab
    t = (ra - rb) * math.sqrt((n - 1) * (1 + rab))
    t /= math.sqrt(2 * (n - 1) / (n - 3) * k + ((ra + rb) / 2) ** 2 * (1 - rab) ** 3)
    assert w["p_value"] == pytest.approx(sps.t.sf(abs(t), n - 3), rel=1e-9) and w["p_value"] < 0.05
