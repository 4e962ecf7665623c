"""placeholder until the run index lands"""

from typing import Any


def runs_context(site: Any, state: Any) -> dict[str, Any]:
    return {}
