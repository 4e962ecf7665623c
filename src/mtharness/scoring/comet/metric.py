"""COMET and CometKiwi scores through a worker process in the managed environment.

unbabel-comet cannot live in the main environment (it pins transformers<5), so the model runs in
``mtharness env setup comet``'s venv: ``CometScorer`` starts ``worker.py`` there with that venv's
python (once per run and metric, and only when some segment is not cached), sends batches as JSON
lines and reads the scores back. Segment scores are cached by (checkpoint sha256, src, mt, ref).

COMET (reference-based, e.g. Unbabel/wmt22-comet-da) scores (src, mt, ref); CometKiwi
(reference-free quality estimation, e.g. Unbabel/wmt22-cometkiwi-da) scores (src, mt) only. A system
score is the mean of the segment scores, exactly as ``predict()`` computes it. Scores drift across
package versions, checkpoints, batch sizes and devices: all of them are in the signature.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from mtharness.core import MetricResult, MtharnessError
from mtharness.scoring.comet.cache import CometCache, segment_key
from mtharness.scoring.comet.env import env_python, require_env
from mtharness.scoring.protocol import SEGMENT_MEAN, MetricInfo, SegmentMetric

WORKER = Path(__file__).with_name("worker.py")
REQUEST_SIZE = 2048  # segments per request: progress is cached request by request
OPTIONS = ("model", "batch_size", "device")


def _info(
    kind: str,
    score_name: str,
    needs_refs: bool,
    score_range: tuple[float | None, float | None] = (None, None),
    aliases: tuple[str, ...] = (),
) -> MetricInfo:
    return MetricInfo(
        kind,
        score_name,
        higher_is_better=True,
        precision=4,  # wmt22 models live in about [0, 1]: real differences are 0.001-0.01
        range=score_range,  # COMET's regression head: roughly 0-1, but not bounded
        aliases=aliases,
        options=OPTIONS,
        needs_source=True,
        needs_references=needs_refs,
        managed_env="comet",
        gpu=True,
        aggregation=SEGMENT_MEAN,  # predict()'s system score: the mean of the segment scores
    )


class Comet(SegmentMetric):
    """COMET (reference-based): (src, mt, ref)."""

    info = _info("comet", "COMET", True)
    default_model = "Unbabel/wmt22-comet-da"

    def check_args(self, args: Mapping[str, Any]) -> None:
        comet_config(self, args)

    def check_ready(self, args: Mapping[str, Any]) -> None:
        check_ready(comet_config(self, args))

    def open(self, args: Mapping[str, Any], cache_dir: str | Path | None) -> CometScorer:
        return CometScorer(comet_config(self, args), CometCache(cache_dir), owns_cache=True)


class CometKiwi(Comet):
    """CometKiwi (reference-free quality estimation): (src, mt)."""

    info = _info("cometkiwi", "CometKiwi", False)
    default_model = "Unbabel/wmt22-cometkiwi-da"


@dataclass(frozen=True)
class CometConfig:
    kind: str = "comet"
    model: str = ""  # a hub id (needs the hub, or its cached copy) or a local checkpoint folder/.ckpt
    batch_size: int = 8
    device: str = "cpu"  # cpu, cuda or cuda:N

    @property
    def metric(self) -> Comet:
        from mtharness.scoring import registry  # xCOMET's kinds live in scoring.comet.xcomet

        metric = registry.get(self.kind) if self.kind in registry.BUILTIN else Comet()
        return metric if isinstance(metric, Comet) else Comet()

    @property
    def name(self) -> str:
        return self.metric.info.score_name

    @property
    def model_id(self) -> str:
        return self.model or self.metric.default_model

    @property
    def needs_refs(self) -> bool:
        return self.metric.info.needs_references


def comet_config(metric: Comet | str, args: Mapping[str, Any]) -> CometConfig:
    """The metrics.<kind> node ({model, batch_size, device}) checked key by key."""
    kind = metric if isinstance(metric, str) else metric.info.kind
    unknown = set(args) - set(OPTIONS)
    if unknown:
        raise MtharnessError(f"metrics.{kind}: unknown key(s) {sorted(unknown)}; known: {', '.join(OPTIONS)}")
    batch = args.get("batch_size", 8)
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise MtharnessError(f"metrics.{kind}.batch_size must be a positive integer, got {batch!r}")
    device = str(args.get("device") or "cpu")
    if device != "cpu" and not device.startswith("cuda"):
        raise MtharnessError(f"metrics.{kind}.device must be cpu, cuda or cuda:N, got {device!r}")
    return CometConfig(kind, str(args.get("model") or ""), batch, device)


def local_checkpoint(model: str) -> Path | None:
    """The .ckpt file of a local model (a file, or a hub-download folder); None for a hub id."""
    path = Path(model).expanduser()
    looks_local = path.exists() or model.startswith((".", "/", "~")) or model.endswith(".ckpt")
    if not looks_local:
        return None
    ckpt = path / "checkpoints" / "model.ckpt" if path.is_dir() else path
    if not ckpt.is_file():
        raise MtharnessError(
            f"COMET checkpoint {model} not found (want a .ckpt file or a folder with checkpoints/model.ckpt)"
        )
    return ckpt.resolve()


def model_key(checkpoint_sha: str, checkpoint: Path | None) -> str:
    """What the segment cache keys on: the weights' sha256 and, where the checkpoint sits in a
    COMET folder, its hparams.yaml (COMET reads it beside checkpoints/: a changed or corrupt one must
    not be answered from a warm cache)."""
    if checkpoint is None:
        return checkpoint_sha
    hparams = checkpoint.parent.parent / "hparams.yaml"
    if not hparams.is_file():
        return checkpoint_sha
    extra = hashlib.sha256(hparams.read_bytes()).hexdigest()
    return hashlib.sha256(f"{checkpoint_sha}+hparams:{extra}".encode()).hexdigest()


def check_ready(cfg: CometConfig) -> None:
    """Before translating: the environment exists and a local checkpoint is there."""
    require_env()
    local_checkpoint(cfg.model_id)


@dataclass
class CometWorker:
    """The worker process: started on first use, one JSON line per request and per answer."""

    cfg: CometConfig
    proc: subprocess.Popen[str] | None = None
    info: dict[str, Any] = field(default_factory=dict)
    log: IO[str] | None = None

    def start(self) -> dict[str, Any]:
        env_dir = require_env()
        self.log = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 (closed in close())
        child_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        cmd = [str(env_python(env_dir)), "-I", str(WORKER), "--model", self.cfg.model_id]
        cmd += ["--batch-size", str(self.cfg.batch_size), "--device", self.cfg.device]
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True, env=child_env
        )
        self.info = self._read("loading the model")
        if "error" in self.info:
            self.close()
            raise MtharnessError(f"metrics.{self.cfg.kind}.model {self.cfg.model_id}: {self.info['error']}")
        return self.info

    def score(self, data: list[dict[str, str]], via: str | None = None) -> dict[str, Any]:
        """The worker's answer for ``data``; ``via="predict"`` forces unbabel-comet's predict()."""
        assert self.proc is not None and self.proc.stdin is not None
        request: dict[str, Any] = {"data": data, **({"via": via} if via else {})}
        try:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass  # _read reports the exit code and the worker's last words
        answer = self._read(f"scoring a batch of {len(data)} segments")
        if len(answer.get("scores", ())) != len(data):
            raise MtharnessError(
                f"COMET worker answered {len(answer.get('scores', ()))} scores for {len(data)}"
            )
        return answer

    def _read(self, doing: str) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            raise MtharnessError(
                f"COMET worker (pid {self.proc.pid}) died while {doing} (exit code {code}{self._last_words()}); "
                f"segments scored before are cached, rerun to go on; `mtharness env check` tests the environment"
            )
        try:
            answer: dict[str, Any] = json.loads(line)
        except json.JSONDecodeError:
            raise MtharnessError(f"COMET worker wrote a line that is not JSON: {line[:120]!r}") from None
        return answer

    def _last_words(self) -> str:
        if self.log is None:
            return ""
        self.log.seek(0)
        lines = [ln.strip() for ln in self.log.read().splitlines() if ln.strip()]
        return f"; last stderr line: {lines[-1][:200]}" if lines else ""

    def close(self) -> None:
        if self.proc is not None:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            if self.proc.stdout is not None:
                self.proc.stdout.close()
            self.proc = None
        if self.log is not None:
            self.log.close()
            self.log = None


class CometScorer:
    """One COMET/CometKiwi model for a whole run: cache first, the worker for what is missing."""

    def __init__(self, cfg: CometConfig, cache: CometCache, owns_cache: bool = False) -> None:
        self.cfg = cfg
        self.cache = cache
        self.owns_cache = owns_cache  # opened by Comet.open: closed with the scorer
        self.worker = CometWorker(cfg)
        # COMET-cache hits and misses per segment and the model calls the misses took (comet_cache)
        self.cache_counts: dict[str, int] = {"hits": 0, "misses": 0, "model_calls": 0}
        self._checkpoint: Path | None = local_checkpoint(cfg.model_id)
        self._sha: str | None = None
        self._comet_version: str | None = None

    def __enter__(self) -> CometScorer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.worker.close()
        finally:
            if self.owns_cache:
                self.cache.close()

    def _ensure_worker(self) -> None:
        if self.worker.proc is not None:
            return
        info = self.worker.start()
        self._check_model(info)
        self._comet_version = str(info["comet_version"])
        self._checkpoint = Path(info["checkpoint"])

    def _check_model(self, info: dict[str, Any]) -> None:
        """The loaded model reads what this metric gives it (a reference or not)."""
        segments = info.get("input_segments") or []
        needs_ref = "ref" in segments if segments else info.get("model_class") != "ReferencelessRegression"
        if needs_ref != self.cfg.needs_refs:
            other = (Comet if needs_ref else CometKiwi).info.kind
            raise MtharnessError(
                f"metrics.{self.cfg.kind}.model {self.cfg.model_id} is "
                f"{'reference-based' if needs_ref else 'reference-free'}: use metrics=[...,{other}] for it"
            )

    def checkpoint_sha256(self) -> str:
        if self._sha is None:
            if self._checkpoint is None:  # a hub id: the worker resolves (and maybe downloads) it
                self._ensure_worker()
            assert self._checkpoint is not None
            self._sha = self.cache.checkpoint_sha256(self._checkpoint)
        return self._sha

    def comet_version(self) -> str:
        if self._comet_version is None:
            from mtharness.scoring.comet.env import env_versions

            self._comet_version = env_versions(require_env()).get("unbabel-comet", "unknown")
        return self._comet_version

    def score(
        self, sources: Sequence[str], hyps: Sequence[str], refs: Sequence[str] | None
    ) -> tuple[MetricResult, list[float]]:
        """System score (the mean) and segment scores of ``hyps``; refs None for CometKiwi."""
        items, keys = self._keyed(sources, hyps, refs)
        known = self.cache.get_many(keys)
        missing = list({k: i for i, k in reversed(list(enumerate(keys))) if k not in known}.values())
        missing.sort()
        self.cache_counts["hits"] += len(keys) - len(missing)
        self.cache_counts["misses"] += len(missing)
        for lo in range(0, len(missing), REQUEST_SIZE):
            part = missing[lo : lo + REQUEST_SIZE]
            self._ensure_worker()
            answer = self.worker.score([items[i] for i in part])
            self.cache_counts["model_calls"] += 1
            new = {keys[i]: float(s) for i, s in zip(part, answer["scores"], strict=True)}
            self.cache.put_many(new)
            known.update(new)
        scores = [known[k] for k in keys]
        return self.result(scores), scores

    def score_systems(
        self, sources: Sequence[str], systems: Mapping[str, Sequence[str]], refs: Sequence[str] | None
    ) -> dict[str, tuple[MetricResult, list[float]]]:
        """Several systems on the same sources/refs: each distinct one encoded once (comet.systems)."""
        from mtharness.scoring.comet.systems import score_systems

        return score_systems(self, sources, systems, refs)

    REFERENCE_FREE = "CometKiwi"  # the metric that scores without references, named in the error

    def _keyed(
        self, sources: Sequence[str], hyps: Sequence[str], refs: Sequence[str] | None
    ) -> tuple[list[dict[str, str]], list[str]]:
        """The worker's items and their cache keys (the model's checkpoint files + src, mt, ref)."""
        if self.cfg.needs_refs and refs is None:
            raise MtharnessError(
                f"{self.cfg.name} needs references; {self.REFERENCE_FREE} scores without them"
            )
        items = [
            {"src": s, "mt": h, **({"ref": r} if self.cfg.needs_refs else {})}
            for s, h, r in zip(sources, hyps, refs if refs is not None else sources, strict=True)
        ]
        sha = model_key(self.checkpoint_sha256(), self._checkpoint)
        return items, [segment_key(sha, it["src"], it["mt"], it.get("ref")) for it in items]

    def report(self) -> dict[str, dict[str, Any]]:
        """What scores.json records of this scorer: the cache counters and the cache file."""
        return {
            "comet_cache": {**self.cache_counts, "file": str(self.cache.path) if self.cache.path else None}
        }

    def signature(self) -> str:
        return (
            f"model:{self.cfg.model_id}|ckpt_sha256:{self.checkpoint_sha256()[:16]}"
            f"|comet:{self.comet_version()}|batch:{self.cfg.batch_size}|device:{self.cfg.device}"
            f"|nrefs:{1 if self.cfg.needs_refs else 0}"
        )

    def result(self, scores: Sequence[float]) -> MetricResult:
        system = sum(scores) / len(scores) if scores else 0.0  # predict()'s own system_score
        extra = {
            "score": system,  # unrounded: COMET lives in [0, 1], 4 decimals hide real differences
            "model": self.cfg.model_id,
            "checkpoint_sha256": self.checkpoint_sha256(),
            "comet_version": self.comet_version(),
            "batch_size": self.cfg.batch_size,
            "device": self.cfg.device,
            "reference_free": not self.cfg.needs_refs,
        }
        return self.cfg.metric.info.result(system, self.signature(), extra)
