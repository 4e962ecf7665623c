"""Shared test scaffolding: fixture plugins (neural_fixtures, comet_fixtures), the counting
translators SLURM jobs import (counting), run-folder builders for the gate tests (gate) and the
fault-injecting OpenAI-compatible server (openai_fault_server)."""
