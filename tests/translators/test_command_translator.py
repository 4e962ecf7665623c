"""translator=command with real command lines: sed, tr, python scripts, Apertium; every error is one line."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from mtharness.core import MtharnessError
from mtharness.translators.command import CommandTranslator
from tests.conftest import compose, run_cli

PY = sys.executable

# a tiny "MT system": upper-cases each line and tags it with the direction; flushes per line
UPPER = """
import sys
src, tgt = sys.argv[1], sys.argv[2]
for line in sys.stdin:
    print(f"[{src}>{tgt}] " + line.rstrip("\\n").upper(), flush=True)
"""


@pytest.fixture
def upper_script(tmp_path: Path) -> Path:
    path = tmp_path / "upper.py"
    path.write_text(UPPER, encoding="utf-8")
    return path


def test_sed_and_tr_one_line_per_segment() -> None:
    sed = CommandTranslator(["sed", "-e", "s/cat/gato/g"])
    assert sed.translate(["the cat", "", "cat and cat"], "en", "es") == ["the gato", "", "gato and gato"]
    tr = CommandTranslator(["tr", "a-z", "A-Z"])
    assert tr.translate(["ab c", "ñ x"], "en", "es") == ["AB C", "ñ X"]


def test_placeholders_take_the_iso_codes(upper_script: Path) -> None:
    t = CommandTranslator([PY, str(upper_script), "{src}", "{tgt}"])
    assert t.translate(["hi", "b"], "en", "es") == ["[en>es] HI", "[en>es] B"]
    assert t.translate(["hola"], "es", "en") == ["[es>en] HOLA"]


def test_persistent_process_streams_and_is_reused(upper_script: Path, tmp_path: Path) -> None:
    log = tmp_path / "starts.log"
    script = tmp_path / "counting.py"
    script.write_text(f"open({str(log)!r}, 'a').write('start\\n')\n" + UPPER, encoding="utf-8")
    t = CommandTranslator([PY, str(script), "{src}", "{tgt}"], persistent=True, line_timeout_s=30)
    try:
        many = [f"line {i}" for i in range(2000)]  # more than a pipe buffer in both directions
        assert t.translate(many, "en", "es") == [f"[en>es] LINE {i}" for i in range(2000)]
        assert t.translate(["x"], "en", "es") == ["[en>es] X"]
        assert t.translate(["y"], "es", "en") == ["[es>en] Y"]
    finally:
        t.close()
    assert log.read_text().count("start") == 2  # one process per direction for the whole run


def test_one_per_call_runs_each_segment_alone_and_is_context_free(tmp_path: Path) -> None:
    script = tmp_path / "count.py"  # numbers lines: a leak of state between segments made visible
    script.write_text("import sys\nfor i, l in enumerate(sys.stdin): print(i, l.strip())\n")
    batch = CommandTranslator([PY, str(script)])
    alone = CommandTranslator([PY, str(script)], one_per_call=True)
    assert batch.translate(["a", "b"], "en", "es") == ["0 a", "1 b"]
    assert alone.translate(["a", "b"], "en", "es") == ["0 a", "0 b"]
    assert (batch.context_free, alone.context_free) == (False, True)
    assert batch.identity() != alone.identity()


@pytest.mark.apertium
def test_apertium_as_a_command(apertium: None) -> None:
    t = CommandTranslator(["apertium", "-u", "{src}-{tgt}"], name="apertium-cmd")
    out = t.translate(["The house is red.", "I have a dog."], "eng", "spa")
    assert out[0] == "La casa es roja." and "perro" in out[1]
    assert t.context_free is False


def test_line_breaks_are_refused_or_sent_as_a_token() -> None:
    with pytest.raises(MtharnessError, match="newline_token"):
        CommandTranslator(["cat"]).translate(["one\ntwo"], "en", "es")
    t = CommandTranslator(["cat"], newline_token=" <br> ")
    assert t.translate(["one\ntwo", "three"], "en", "es") == ["one\ntwo", "three"]


@pytest.mark.parametrize(
    ("argv", "kwargs", "message"),
    [
        (["no-such-mt-binary-xyz"], {}, "not found"),
        ([PY, "-c", "import sys; sys.stderr.write('model file missing\\n'); sys.exit(3)"], {}, "exit 3"),
        ([PY, "-c", "import sys; sys.stdin.read(); print('only one')"], {}, "printed 1 lines for 2"),
        ([PY, "-c", "import time; time.sleep(30)"], {"timeout_s": 1}, "timed out after 1 s"),
        ([PY, "-c", "import time; time.sleep(30)"], {"persistent": True, "line_timeout_s": 1}, "flush"),
        (
            [PY, "-c", "import sys; print(sys.stdin.readline().strip()); sys.exit(4)"],
            {"persistent": True},
            "exited",
        ),
    ],
)
def test_errors_are_one_line(argv: list[str], kwargs: dict, message: str) -> None:
    t = CommandTranslator(argv, **kwargs)
    start = time.monotonic()
    with pytest.raises(MtharnessError) as info:
        t.translate(["a", "b"], "en", "es")
    t.close()
    assert message in str(info.value) and "\n" not in str(info.value)
    assert time.monotonic() - start < 15
    if "exit 3" in message:
        assert "model file missing" in str(info.value)  # the stderr tail names the cause


def test_argv_string_is_split_like_a_shell_without_a_shell() -> None:
    assert CommandTranslator("sed -e 's/a b/c/'").argv == ["sed", "-e", "s/a b/c/"]
    assert CommandTranslator("tr a-z A-Z").translate(["a;b $HOME"], "en", "es") == ["A;B $HOME"]
    with pytest.raises(MtharnessError, match="must name a program"):
        CommandTranslator("  ")
    with pytest.raises(MtharnessError, match="unbalanced"):
        CommandTranslator("sed 's/a")


def test_placeholders_iso1_iso3_flores() -> None:
    t = CommandTranslator(["echo", "{src}-{tgt}", "{src3}-{tgt3}", "{src_flores}", "{tgt_flores}"])
    assert t.command("en", "es")[1:] == ["en-es", "eng-spa", "eng_Latn", "spa_Latn"]
    assert t.command("ca", "de")[1:] == ["ca-de", "cat-deu", "cat_Latn", "deu_Latn"]
    with pytest.raises(MtharnessError, match=r"\{tgt3\} of language 'xx'"):
        CommandTranslator(["echo", "{tgt3}"]).command("en", "xx")


def test_normalize_spaces() -> None:
    t = CommandTranslator(["cat"], normalize_spaces=True)
    assert t.translate(["  a   b ", "c"], "en", "es") == ["a b", "c"]
    assert CommandTranslator(["cat"]).translate(["  a   b "], "en", "es") == ["  a   b "]
    assert "normalize_spaces" not in CommandTranslator(["cat"]).identity()  # old cache keys kept


def test_argv_items_must_be_text() -> None:
    with pytest.raises(MtharnessError, match="quote it"):
        CommandTranslator(["x", False])  # what Hydra makes of an unquoted `false`
    assert CommandTranslator(["marian", "--beam-size", 4]).argv[-1] == "4"  # type: ignore[list-item]


@pytest.mark.parametrize(
    "override",
    ['translator.argv="apertium -u {src3}-{tgt3}"', 'translator.argv=[apertium,-u,"{src3}-{tgt3}"]'],
)
def test_documented_quoting_composes(override: str) -> None:
    from hydra.utils import instantiate

    t = instantiate(compose(["translator=command", override]).translator, _convert_="all")
    assert t.argv == ["apertium", "-u", "{src3}-{tgt3}"]


def test_config_composes_and_instantiates() -> None:
    from hydra.utils import instantiate

    cfg = compose(["translator=command", "translator.argv=[sed,-e,s/a/b/]"])
    t = instantiate(cfg.translator, _convert_="all")
    assert isinstance(t, CommandTranslator) and t.translate(["a"], "en", "es") == ["b"]


def test_cli_run_caches_and_reports(tmp_path: Path) -> None:
    args = [
        "run",
        "translator=command",
        "translator.argv=[tr,a-z,A-Z]",
        "round_trip=false",
        f"results_dir={tmp_path / 'results'}",
        f"hydra.run.dir={tmp_path / 'run'}",
    ]
    proc = run_cli(args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    scores = json.loads((tmp_path / "run" / "scores.json").read_text())
    assert scores["command"]["context_free"] is False
    assert scores["directions"]["forward"]["cache"] is None  # not context-free: never cached
    declared = [*args[:-1], "translator.context_free=true", f"hydra.run.dir={tmp_path / 'run2'}"]
    assert run_cli(declared, cwd=tmp_path).returncode == 0
    again = json.loads((tmp_path / "run2" / "scores.json").read_text())
    assert again["directions"]["forward"]["cache"]["misses"] > 0  # declared context-free: cached
    first = (tmp_path / "run" / "segments.jsonl").read_text().splitlines()[0]
    row = json.loads(first)
    assert row["forward"] == row["source"].upper()


def test_cli_failure_exit_2_one_line(tmp_path: Path) -> None:
    argv = f"translator.argv=[{PY},-c,'import sys; sys.exit(1)']"
    args = ["run", "translator=command", argv, f"hydra.run.dir={tmp_path / 'run'}"]
    proc = run_cli(args, cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert "exit 1" in last and "sys.exit(1)" in last
    assert not (tmp_path / "run" / "scores.json").exists()
