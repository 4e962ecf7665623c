"""A metric from outside the package (a `_target_` YAML under --config-dir), lower is better, range
0-25, precision 3, and TER (sacrebleu's lower-is-better metric): scored by `mtharness run`, then
compared, gated, ranked and rendered through the console script, each the right way round.

Three systems on the first 6 sample segments: `ref` outputs the references (toy 0, TER 0: best),
`mix` outputs the reference for even segments and the source for odd ones, `echo` copies the source
(worst). A command that ranked or gated a lower-is-better metric as if higher were better would put
`echo` first, call `ref` worse and fail or pass the wrong gate.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli

pytestmark = pytest.mark.slow  # nine `mtharness run`s and a dozen other commands, ~100 s on two cores

SAMPLE = REPO / "src" / "mtharness" / "data" / "sample"
N = 6

TOY_MODULE = '''
from mtharness.scoring.protocol import MetricInfo, SegmentMetric


class Toy(SegmentMetric):
    """Character-length difference between output and reference, a quarter point per character, capped at 25."""

    info = MetricInfo(
        kind="toy",
        score_name="Toy",
        higher_is_better=False,
        precision=3,
        range=(0.0, 25.0),
        options=("scale",),
        needs_references=True,
    )

    def segment_scores(self, args, sources, hyps, refs):
        scale = float(args.get("scale", 0.25))
        return [min(25.0, abs(len(h) - len(r)) * scale) for h, r in zip(hyps, refs, strict=True)]

    def signature(self, args):
        return f"toy|scale:{float(args.get('scale', 0.25))}|version:1"
'''

TOY_YAML = """# a metric of our own: mtharness imports the class named by _target_; the other keys are its options
toy:
  _target_: toy_metric.Toy
  scale: 0.25
"""


def _lines(name: str) -> list[str]:
    return (SAMPLE / name).read_text(encoding="utf-8").splitlines()[:N]


@pytest.fixture(scope="module")
def toy_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("toy")
    (root / "pkg").mkdir()
    (root / "pkg" / "toy_metric.py").write_text(TOY_MODULE, encoding="utf-8")
    (root / "conf" / "metrics").mkdir(parents=True)
    (root / "conf" / "metrics" / "toy.yaml").write_text(TOY_YAML, encoding="utf-8")
    src, ref = _lines("sample.en"), _lines("sample.es")
    mix = [r if i % 2 == 0 else s for i, (s, r) in enumerate(zip(src, ref, strict=True))]
    for name, lines in (("ref", ref), ("mix", mix), ("src", src)):
        (root / f"{name}.es").write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {
        "PYTHONPATH": os.pathsep.join(
            [str(root / "pkg"), str(REPO / "src"), os.environ.get("PYTHONPATH", "")]
        )
    }
    runs: dict[str, Path] = {}
    common = [
        f"limit={N}",
        "round_trip=false",
        "progress=false",
        "validity.langid.enabled=false",
        "cache.enabled=false",
    ]
    for system, first in (("ref", "toy"), ("mix", "toy"), ("echo", "toy"), ("ref_ter", "ter")):
        out = root / "results" / first / system
        base = system.removesuffix("_ter")
        translator = (
            ["translator=echo"]
            if base == "echo"
            else ["translator=files", f"translator.forward={root / f'{base}.es'}", f"translator.name={base}"]
        )
        metrics = "metrics=[toy]" if first == "toy" else "metrics=[ter]"
        proc = run_cli(
            [
                "run",
                "--config-dir",
                str(root / "conf"),
                *translator,
                metrics,
                *common,
                f"hydra.run.dir={out}",
            ],
            cwd=root,
            env=env,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        runs[system] = out
    for system in ("mix", "echo"):  # the TER board's other two systems
        out = root / "results" / "ter" / system
        translator = (
            ["translator=echo"]
            if system == "echo"
            else ["translator=files", f"translator.forward={root / 'mix.es'}", "translator.name=mix"]
        )
        proc = run_cli(
            ["run", *translator, "metrics=[ter]", *common, f"hydra.run.dir={out}"], cwd=root, env=env
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        runs[f"{system}_ter"] = out
    return {"root": root, "env": env, "runs": runs}


def _scores(run: Path) -> dict[str, dict[str, object]]:
    return json.loads((run / "scores.json").read_text(encoding="utf-8"))["scores"]["forward"]


def test_run_scores_the_toy_metric_with_its_direction_and_precision(toy_runs: dict) -> None:
    runs = toy_runs["runs"]
    toy = {s: _scores(runs[s])["Toy"] for s in ("ref", "mix", "echo")}
    assert toy["ref"]["score"] == 0.0
    assert 0.0 < toy["mix"]["score"] < toy["echo"]["score"] <= 25.0
    for stored in toy.values():
        assert stored["higher_is_better"] is False and stored["precision"] == 3
        assert stored["signature"] == "toy|scale:0.25|version:1"
    assert _scores(runs["ref_ter"])["TER"]["precision"] == 2
    assert _scores(runs["ref_ter"])["TER"]["higher_is_better"] is False
    segments = [json.loads(x) for x in (runs["echo"] / "segments.jsonl").read_text().splitlines()]
    seg_toy = [row["scores"]["forward"]["Toy"] for row in segments]
    assert sum(seg_toy) / len(seg_toy) == pytest.approx(toy["echo"]["score"])
    summary = (runs["echo"] / "summary.md").read_text(encoding="utf-8")
    assert re.search(r"\| forward \| Toy ↓ \| \d+\.\d{3} \|", summary), summary


def test_compare_ranks_lower_is_better_first_and_marks_improvements(toy_runs: dict) -> None:
    runs, root = toy_runs["runs"], toy_runs["root"]
    html = root / "cmp.html"
    args = [str(runs[s]) for s in ("echo", "mix", "ref")]
    proc = run_cli(
        [
            "compare",
            *args,
            "--baseline",
            "echo",
            "--metrics",
            "toy",
            "bleu",
            "--json",
            "-",
            "--html",
            str(html),
        ],
        cwd=root,
        env=toy_runs["env"],
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    forward = json.loads(proc.stdout)["directions"]["forward"]
    toy = forward["metrics"]["Toy"]
    assert toy["higher_is_better"] is False and toy["precision"] == 3
    assert forward["ranked_by"] == "Toy" and forward["systems"] == ["ref", "mix", "echo"]
    # echo is the baseline: the others lowered Toy, which is an improvement
    assert toy["systems"]["ref"]["delta"] < 0 and toy["systems"]["ref"]["improved"] is True
    assert toy["systems"]["mix"]["improved"] is True
    assert toy["clusters"][0]["systems"][0] == "ref"
    page = html.read_text(encoding="utf-8")
    assert re.search(r'class="num sig better">0\.000 <span class="ci">±0\.000</span>', page), "ref not green"
    assert "Toy ↓" in page


def test_gate_treats_a_rise_of_a_lower_is_better_metric_as_a_drop(toy_runs: dict) -> None:
    runs, root, env = toy_runs["runs"], toy_runs["root"], toy_runs["env"]
    for name in ("ref", "echo"):
        proc = run_cli(
            ["baseline", "save", str(runs[name]), str(root / f"{name}.baseline.json"), "--force"], root, env
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
    echo_toy = float(_scores(runs["echo"])["Toy"]["score"])  # type: ignore[arg-type]

    def gate(baseline: str, current: str, *rules: str) -> tuple[int, str]:
        proc = run_cli(
            [
                "gate",
                "--baseline",
                str(root / f"{baseline}.baseline.json"),
                "--current",
                str(runs[current]),
                *rules,
            ],
            root,
            env,
        )
        return proc.returncode, proc.stdout + proc.stderr

    code, out = gate("ref", "echo", "--max-drop", "toy=0.5")  # Toy rose from 0: worse
    assert code == 1, out
    e = f"{echo_toy:.3f}"  # the metric's precision, 3 decimals
    assert re.search(rf"forward\.Toy max_drop 0\.5\s+0\.000\s+{e}\s+\+{e}\s+-\s+FAIL", out), out
    code, out = gate("echo", "ref", "--max-drop", "toy=0.5")  # Toy fell to 0: better, passes
    assert code == 0, out
    assert re.search(rf"forward\.Toy max_drop 0\.5\s+{e}\s+0\.000\s+-{e}\s+-\s+PASS", out), out
    # the paired bootstrap over the stored segment scores: the rise is significant, in Toy's direction
    code, out = gate("ref", "echo", "--max-drop", "toy=0.1", "--require-significance")
    assert code == 1 and re.search(
        rf"forward\.Toy max_drop 0\.1 if significant\s+0\.000\s+{e}\s+\+{e}\s+0\.0\d+\s+FAIL", out
    ), out
    code, out = gate("echo", "ref", "--max-drop", "toy=0.1", "--require-significance")
    assert code == 0 and re.search(r"forward\.Toy max_drop 0\.1 if significant.*PASS", out), out
    code, out = gate("echo", "ref", "--min-score", "toy=0.5")  # a ceiling: 0 <= 0.5
    assert code == 0 and re.search(r"forward\.Toy min_score 0\.5\s.*PASS", out), out
    code, out = gate("ref", "echo", "--min-score", "toy=0.5")  # the copy is above the ceiling
    assert code == 1 and re.search(rf"forward\.Toy min_score 0\.5\s+0\.000\s+{e}\s.*FAIL", out), out


def test_gate_min_score_is_a_ceiling_for_ter(toy_runs: dict) -> None:
    runs, root, env = toy_runs["runs"], toy_runs["root"], toy_runs["env"]
    for name in ("ref_ter", "echo_ter"):
        proc = run_cli(
            ["baseline", "save", str(runs[name]), str(root / f"{name}.baseline.json"), "--force"], root, env
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
    echo_ter = float(_scores(runs["echo_ter"])["TER"]["score"])  # type: ignore[arg-type]
    assert echo_ter > 20

    def gate(baseline: str, current: str, *rules: str) -> tuple[int, str]:
        proc = run_cli(
            [
                "gate",
                "--baseline",
                str(root / f"{baseline}.baseline.json"),
                "--current",
                str(runs[current]),
                *rules,
            ],
            root,
            env,
        )
        return proc.returncode, proc.stdout + proc.stderr

    code, out = gate("echo_ter", "ref_ter", "--min-score", "ter=10", "--max-drop", "ter=1")
    assert code == 0 and re.search(r"forward\.TER min_score 10\s.*PASS", out), out
    assert re.search(r"forward\.TER max_drop 1\s+\d+\.\d\d\s+0\.00\s+-\d+\.\d\d\s+-\s+PASS", out), out
    code, out = gate("ref_ter", "echo_ter", "--min-score", "ter=10", "--max-drop", "ter=1")
    assert code == 1
    assert re.search(r"forward\.TER min_score 10\s.*FAIL", out), out
    assert re.search(r"forward\.TER max_drop 1\s+0\.00\s+\d+\.\d\d\s+\+\d+\.\d\d\s+-\s+FAIL", out), out


def test_leaderboard_puts_the_lowest_first_for_lower_is_better_metrics(toy_runs: dict) -> None:
    root, env = toy_runs["root"], toy_runs["env"]
    for board in ("toy", "ter"):
        folder = root / "results" / board
        proc = run_cli(["leaderboard", str(folder), "--ci-n", "0"], root, env)
        assert proc.returncode == 0, proc.stderr[-2000:]
        md = (folder / "leaderboard.md").read_text(encoding="utf-8")
        rows = [line for line in md.splitlines() if line.startswith("| ") and "`" in line]
        order = [row.split("|")[1].strip() for row in rows]
        assert order == ["ref", "mix", "echo"], md
        metric = "Toy" if board == "toy" else "TER"
        assert f"fwd {metric} ↓" in md
        if board == "toy":
            assert re.search(r"\| 0\.000 \|", rows[0]), rows[0]


def test_toy_metric_reads_from_the_config_and_is_refused_with_a_bad_key(toy_runs: dict) -> None:
    root, env = toy_runs["root"], toy_runs["env"]
    proc = run_cli(
        [
            "run",
            "--config-dir",
            str(root / "conf"),
            "translator=echo",
            "metrics=[toy]",
            "+metrics.toy.sclae=2",
            "limit=2",
            "round_trip=false",
            "validity.langid.enabled=false",
            f"hydra.run.dir={root / 'bad'}",
        ],
        root,
        env,
    )
    assert proc.returncode == 2
    assert "metrics.toy: unknown key(s) ['sclae']; known: scale" in proc.stderr


def test_compare_marks_a_lower_ter_as_improved(toy_runs: dict) -> None:
    runs, root = toy_runs["runs"], toy_runs["root"]
    html = root / "ter.html"
    args = [str(runs[s]) for s in ("echo_ter", "mix_ter", "ref_ter")]
    proc = run_cli(
        ["compare", *args, "--baseline", "echo", "--metrics", "ter", "--json", "-", "--html", str(html)],
        root,
        toy_runs["env"],
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    forward = json.loads(proc.stdout)["directions"]["forward"]
    ter = forward["metrics"]["TER"]
    assert forward["systems"] == ["ref", "mix", "echo"]
    assert ter["higher_is_better"] is False
    assert ter["systems"]["ref"]["delta"] < 0 and ter["systems"]["ref"]["improved"] is True
    assert ter["clusters"][0]["systems"][0] == "ref"
    page = html.read_text(encoding="utf-8")
    assert re.search(r'class="num sig better">0\.00 <span class="ci">±0\.00</span>', page), "ref not green"
    assert "TER ↓" in page and 'class="num sig worse"' not in page


def _degrade(line: str) -> str:
    words = line.split()
    return " ".join(words[: max(1, len(words) // 2)])


def test_rtt_correlation_orients_lower_is_better_metrics(toy_runs: dict) -> None:
    """good: forward = reference, back = source; mid: half of each; bad: copies, back degraded. Forward
    TER and Toy fall as the round trip's chrF2 rises, so oriented correlations are +1, not -1."""
    root, env = toy_runs["root"], toy_runs["env"]
    src, ref = _lines("sample.en"), _lines("sample.es")
    systems = {
        "good": (ref, src),
        "mid": (
            [r if i % 2 == 0 else s for i, (s, r) in enumerate(zip(src, ref, strict=True))],
            [s if i % 2 == 0 else _degrade(s) for i, s in enumerate(src)],
        ),
        "bad": (src, [_degrade(s) for s in src]),
    }
    folder = root / "results" / "rtt"
    for name, (forward, back) in systems.items():
        for side, lines in (("fwd", forward), ("back", back)):
            (root / f"{name}.{side}").write_text("\n".join(lines) + "\n", encoding="utf-8")
        proc = run_cli(
            [
                "run",
                "--config-dir",
                str(root / "conf"),
                "translator=files",
                f"translator.forward={root / f'{name}.fwd'}",
                f"translator.back={root / f'{name}.back'}",
                f"translator.name={name}",
                "metrics=[chrf,ter,toy]",
                f"limit={N}",
                "progress=false",
                "validity.langid.enabled=false",
                "cache.enabled=false",
                f"hydra.run.dir={folder / name}",
            ],
            root,
            env,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
    for forward_metric in ("ter", "toy"):
        proc = run_cli(
            ["rtt-correlation", str(folder), "--forward", forward_metric, "--json", "-"], root, env
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        report = json.loads(proc.stdout)
        assert report["forward_higher_is_better"] is False
        assert report["correlations"]["chrF2"]["spearman"] == pytest.approx(1.0)
        # round-trip TER is lower-is-better too: both sides negated, still agreement
        assert report["correlations"]["TER"]["spearman"] == pytest.approx(1.0)
        table = proc.stderr
        order = [
            line.split()[0] for line in table.splitlines() if line.split()[:1] in (["good"], ["mid"], ["bad"])
        ]
        assert order == ["good", "mid", "bad"], table  # best first in the forward metric's own direction
