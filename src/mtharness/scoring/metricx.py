"""MetricX-24 segment scores, computed in the main environment with today's transformers.

MetricX-24 (google-research/metricx, ``metricx24/models.py``) is an mT5 encoder-decoder used as a
regressor: the input ``source: S candidate: H reference: R`` (QE mode: without the reference) is
tokenized with truncation at ``max_input_length`` and its trailing EOS dropped; the decoder runs one
step from token 0, and the logit of vocabulary entry 250089 at that step, clamped to [0, 25], is the
segment's score. Lower is better (it predicts an MQM-like error score). The system score is the mean of
the segment scores.

The reference implementation scores one segment at a time on the transformers release it pins. Here
identical inputs are scored once, inputs are sorted by length and padded per batch (the encoder's
attention mask makes padding inert), and only the one row of ``lm_head`` that matters is multiplied,
so a batch costs the encoder plus one decoder step.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mtharness.core import MetricResult, MtharnessError
from mtharness.scoring.protocol import SEGMENT_MEAN, MetricInfo, SegmentMetric

SCORE_INDEX = 250089  # <extra_id_10> in mT5's vocabulary: the logit MetricX-24 reads
SCORE_RANGE = (0.0, 25.0)
MODES = ("ref", "qe")
DTYPES = ("auto", "float32", "bfloat16", "float16")
DEFAULT_MODEL = "google/metricx-24-hybrid-large-v2p6"
DEFAULT_TOKENIZER = "google/mt5-xl"
_KEYS = ("model", "tokenizer", "mode", "batch_size", "max_input_length", "device", "dtype")


@dataclass(frozen=True)
class MetricXConfig:
    model: str = DEFAULT_MODEL
    tokenizer: str = DEFAULT_TOKENIZER
    mode: str = "ref"  # ref: source + candidate + reference; qe: source + candidate
    batch_size: int = 8
    max_input_length: int = 1536
    device: str = "cpu"  # cpu, cuda or cuda:N
    dtype: str = "auto"  # auto: the checkpoint's own (bfloat16 for the published ones)

    @property
    def needs_refs(self) -> bool:
        return self.mode == "ref"


def _positive_int(name: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise MtharnessError(f"metrics.metricx.{name} must be a positive integer, got {value!r}")
    return value


def metricx_config(args: Mapping[str, Any]) -> MetricXConfig:
    """The metrics.metricx node checked key by key (one line naming the key on a bad value)."""
    unknown = sorted(set(args) - set(_KEYS) - {"metric"})
    if unknown:
        raise MtharnessError(f"metrics.metricx: unknown key(s) {unknown}; known: {', '.join(_KEYS)}")
    mode = str(args.get("mode", "ref"))
    if mode not in MODES:
        raise MtharnessError(f"metrics.metricx.mode must be ref or qe, got {mode!r}")
    dtype = str(args.get("dtype", "auto"))
    if dtype not in DTYPES:
        raise MtharnessError(f"metrics.metricx.dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    device = str(args.get("device") or "cpu")
    if device != "cpu" and not device.startswith("cuda"):
        raise MtharnessError(f"metrics.metricx.device must be cpu, cuda or cuda:N, got {device!r}")
    model = str(args.get("model") or DEFAULT_MODEL)
    return MetricXConfig(
        model=model,
        tokenizer=str(args.get("tokenizer") or DEFAULT_TOKENIZER),
        mode=mode,
        batch_size=_positive_int("batch_size", args.get("batch_size", 8)),
        max_input_length=_positive_int("max_input_length", args.get("max_input_length", 1536)),
        device=device,
        dtype=dtype,
    )


def model_input(source: str, hypothesis: str, reference: str | None, mode: str) -> str:
    """The text MetricX-24 reads for one segment."""
    if mode == "qe":
        return f"source: {source} candidate: {hypothesis}"
    if reference is None:
        raise MtharnessError("metrics.metricx.mode=ref needs references: give a reference or use mode=qe")
    return f"source: {source} candidate: {hypothesis} reference: {reference}"


class MetricXScorer:
    """Loads a MetricX-24 checkpoint once and scores segments in length-sorted batches."""

    def __init__(self, config: MetricXConfig) -> None:
        self.config = config
        self._model: Any = None
        self._tokenizer: Any = None
        self._row: Any = None
        self.transformers_version = ""

    def load(self) -> None:
        """Tokenizer and model, or one line saying which of them could not be loaded and why."""
        if self._model is not None:
            return
        try:
            import torch
            import transformers
            from transformers import AutoTokenizer, MT5ForConditionalGeneration
        except ImportError as exc:  # pragma: no cover - the hf extra is part of every install we make
            raise MtharnessError(f"metrics=[metricx] needs torch and transformers: {exc}") from None
        cfg = self.config
        self.transformers_version = transformers.__version__
        transformers.utils.logging.disable_progress_bar()
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(cfg.tokenizer)
        except Exception as exc:  # hub offline, missing folder, unreadable files
            raise MtharnessError(
                f"metrics.metricx.tokenizer={cfg.tokenizer!r} could not be loaded ({_first_line(exc)}); "
                "give a local tokenizer folder, or a hub id with the hub reachable"
            ) from None
        dtype: Any = "auto" if cfg.dtype == "auto" else getattr(torch, cfg.dtype)
        verbosity = transformers.utils.logging.get_verbosity()
        # transformers 5 declares mT5's head tied to the embeddings; MetricX checkpoints hold their own
        # head, which transformers keeps untied (it warns): the warning is expected here
        transformers.utils.logging.set_verbosity_error()
        try:
            model = MT5ForConditionalGeneration.from_pretrained(cfg.model, dtype=dtype)
        except Exception as exc:
            raise MtharnessError(
                f"metrics.metricx.model={cfg.model!r} could not be loaded ({_first_line(exc)}); "
                "give a local checkpoint folder, or a hub id with the hub reachable"
            ) from None
        finally:
            transformers.utils.logging.set_verbosity(verbosity)
        head = model.get_output_embeddings().weight
        if head.shape[0] <= SCORE_INDEX:
            raise MtharnessError(
                f"metrics.metricx.model={cfg.model!r}: its vocabulary has {head.shape[0]} entries, too few "
                f"for MetricX-24's score at index {SCORE_INDEX}: is it a MetricX-24 checkpoint?"
            )
        try:
            model.to(cfg.device)  # type: ignore[arg-type]
        except (RuntimeError, AssertionError) as exc:
            raise MtharnessError(f"metrics.metricx.device={cfg.device!r}: {_first_line(exc)}") from None
        model.eval()
        self._model = model
        self._row = head[SCORE_INDEX].detach()

    def score(
        self, sources: Sequence[str], hypotheses: Sequence[str], references: Sequence[str] | None = None
    ) -> list[float]:
        """One score per segment, in input order; identical inputs are computed once."""
        if len(sources) != len(hypotheses) or (references is not None and len(references) != len(sources)):
            raise MtharnessError("metricx: sources, hypotheses and references must have the same length")
        mode = self.config.mode
        texts = [
            model_input(s, h, None if references is None else references[i], mode)
            for i, (s, h) in enumerate(zip(sources, hypotheses, strict=True))
        ]
        unique = list(dict.fromkeys(texts))
        if not unique:
            return []
        self.load()
        values = self._score_unique(unique)
        by_text = dict(zip(unique, values, strict=True))
        return [by_text[t] for t in texts]

    def _score_unique(self, texts: list[str]) -> list[float]:
        import torch

        cfg = self.config
        encoded = self._tokenizer(texts, max_length=cfg.max_input_length, truncation=True, padding=False)
        ids = [row[:-1] for row in encoded["input_ids"]]  # the trailing EOS is not part of the input
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]), reverse=True)
        pad = self._tokenizer.pad_token_id or 0
        model = self._model
        out = [0.0] * len(ids)
        with torch.inference_mode():
            for start in range(0, len(order), cfg.batch_size):
                batch = order[start : start + cfg.batch_size]
                width = max(1, max(len(ids[i]) for i in batch))
                input_ids = torch.full((len(batch), width), pad, dtype=torch.long)
                mask = torch.zeros((len(batch), width), dtype=torch.long)
                for row, i in enumerate(batch):
                    input_ids[row, : len(ids[i])] = torch.tensor(ids[i], dtype=torch.long)
                    mask[row, : len(ids[i])] = 1
                input_ids, mask = input_ids.to(model.device), mask.to(model.device)
                encoder = model.get_encoder()(input_ids=input_ids, attention_mask=mask).last_hidden_state
                start_tokens = torch.zeros((len(batch), 1), dtype=torch.long, device=model.device)
                hidden = model.get_decoder()(
                    input_ids=start_tokens, encoder_hidden_states=encoder, encoder_attention_mask=mask
                ).last_hidden_state[:, 0, :]
                logits = (hidden @ self._row.to(hidden.dtype)).float().clamp(*SCORE_RANGE)
                for row, i in enumerate(batch):
                    out[i] = float(logits[row])
        if any(math.isnan(x) for x in out):
            raise MtharnessError(
                f"metrics.metricx.model={cfg.model!r} produced NaN scores (dtype {cfg.dtype})"
            )
        return out

    def signature(self) -> str:
        """Everything the numbers depend on, in sacrebleu's signature style."""
        cfg = self.config
        return (
            f"model:{cfg.model}|tokenizer:{cfg.tokenizer}|mode:{cfg.mode}|maxlen:{cfg.max_input_length}"
            f"|dtype:{cfg.dtype}|device:{cfg.device.split(':')[0]}|transformers:{self.transformers_version}"
        )


class MetricX(SegmentMetric):
    """MetricX-24 as a metric of the registry: lower is better, 0-25, the mean of segment scores."""

    info = MetricInfo(
        "metricx",
        "MetricX",
        higher_is_better=False,
        precision=2,
        range=SCORE_RANGE,
        options=(*_KEYS, "metric"),
        needs_source=True,
        needs_references=True,  # in ref mode; mode=qe needs none (needs_references_for)
        gpu=True,
        aggregation=SEGMENT_MEAN,
    )

    def check_args(self, args: Mapping[str, Any]) -> None:
        metricx_config(args)

    def needs_references_for(self, args: Mapping[str, Any]) -> bool:
        return metricx_config(args).needs_refs

    def check_ready(self, args: Mapping[str, Any]) -> None:
        """Before translating: tokenizer and checkpoint load (a missing one fails now, in one line)."""
        _SCORERS.setdefault(metricx_config(args), MetricXScorer(metricx_config(args))).load()

    def open(self, args: Mapping[str, Any], cache_dir: str | Path | None) -> _OpenMetricX:
        cfg = metricx_config(args)
        return _OpenMetricX(self, _SCORERS.pop(cfg) if cfg in _SCORERS else MetricXScorer(cfg))


# a model loaded by check_ready is handed to the open() that follows it in the same process
_SCORERS: dict[MetricXConfig, MetricXScorer] = {}


class _OpenMetricX:
    def __init__(self, metric: MetricX, scorer: MetricXScorer) -> None:
        self.metric, self.scorer = metric, scorer
        self.counts = {"segments": 0, "unique_inputs": 0}

    def score(
        self, sources: Sequence[str], hyps: Sequence[str], refs: Sequence[str] | None
    ) -> tuple[MetricResult, list[float]]:
        scores = self.scorer.score(sources, hyps, refs if self.scorer.config.needs_refs else None)
        self.counts["segments"] += len(scores)
        mean = sum(scores) / len(scores) if scores else 0.0
        return self.metric.info.result(mean, self.scorer.signature()), scores

    def report(self) -> dict[str, dict[str, Any]]:
        return {}

    def close(self) -> None:
        self.scorer = MetricXScorer(self.scorer.config)  # drop the model


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]
