"""mtharness: translation-quality evaluation with round trips, sacrebleu signatures and a CI gate."""

__version__ = "0.1.0"
