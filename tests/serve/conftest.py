"""The serve tests' shared results folder (real runs), built once per session."""

from tests.serve.app_fixtures import serve_results

__all__ = ["serve_results"]
