"""TraitBase: the common base of op trait mixins and backend hook mixins.

Traits are mixed into ``ClientBase`` and call each other's ops and the backend
hooks through ``self``; for type checkers, attributes a trait does not define
itself resolve to ``Any`` (the composed client has them all, which
``tests/conformance/test_api_completeness.py`` checks).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any


class TraitBase:
    """Base of op traits (see the module doc)."""

    __slots__ = ()

    if TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any: ...
