"""Permission rules per URL name, one module per area of the app.

Each module here defines ``RULES`` (URL name -> Rule) and may define
``extra_objects(clinic, objects) -> dict`` to create objects its URLs need.
tests/test_permission_matrix.py merges them and fails for any URL without a rule.
"""

import importlib
import pkgutil
from dataclasses import dataclass, field

STAFF, MANAGER, ADMIN = "staff", "manager", "admin"
RANK = {STAFF: 0, MANAGER: 1, ADMIN: 2}
PUBLIC = "public"  # no login needed
NOT_ALLOWED = None  # the method is not offered (403 or 405) to anyone


@dataclass(frozen=True)
class Rule:
    """Least role for GET and for POST, and where the URL kwargs come from."""

    get: str | None
    post: str | None
    kwargs: dict = field(default_factory=dict)  # URL kwarg -> key in the `objects` fixture
    scoped: bool = True  # False for pages that are not about one clinic's objects


def _modules():
    for info in pkgutil.iter_modules(__path__):
        yield importlib.import_module(f"{__name__}.{info.name}")


def all_rules() -> dict:
    rules = {}
    for module in _modules():
        clash = set(rules) & set(module.RULES)
        assert not clash, f"rules defined twice: {clash}"
        rules.update(module.RULES)
    return rules


def extra_objects(clinic, objects: dict) -> dict:
    extra = {}
    for module in _modules():
        make = getattr(module, "extra_objects", None)
        if make is not None:
            extra.update(make(clinic, {**objects, **extra}))
    return extra
