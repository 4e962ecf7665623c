"""RTT vs forward on WMT23 en-de: the 8 real system outputs forward, a dictionary gloss back (de->en).

No German->English MT engine is available offline here (Apertium has no German), so the back
direction is word-by-word glossing with Debian's trans-de-en dictionary. Usage:
    python scripts/rtt_wmt23.py [--limit 557] [--out results/rtt_wmt23] [--with-echo]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mtharness.compare.rtt import format_report, rtt_correlation
from mtharness.data.loaders import load_wmt, wmt_systems
from mtharness.run.evaluate import evaluate
from mtharness.run.writer import write_run
from mtharness.scoring.metrics import parse_specs
from mtharness.translators.echo import EchoTranslator
from mtharness.translators.files import FilesTranslator
from mtharness.translators.gloss import GlossTranslator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/wmt23/en-de")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--out", default="results/rtt_wmt23")
    parser.add_argument("--metrics", default="bleu,chrf")
    parser.add_argument("--with-echo", action="store_true", help="add a copying system (echo)")
    args = parser.parse_args()
    ds = load_wmt(args.data).subset(args.limit)
    specs = parse_specs(args.metrics.split(","))
    back = GlossTranslator()
    out = Path(args.out)
    for name, path in wmt_systems(args.data).items():
        translator = FilesTranslator(name, forward=str(path), source=f"{args.data}/src.en", fallback=back)
        result = evaluate(ds, translator, specs, progress=False, validity={})
        write_run(result, out / name)
    if args.with_echo:
        write_run(evaluate(ds, EchoTranslator(), specs, progress=False, validity={}), out / "echo")
    print(format_report(rtt_correlation([out])))


if __name__ == "__main__":
    main()
