"""How a model belongs to a clinic, declared on the model itself.

A clinic-scoped model carries ``clinic_scope = ClinicScope(...)``: the lookup from the
model to its clinic (the access path filters on it), whether its changes are in the audit
trail (and with which fields), and whether they change the caseload the Today counts read
(the count cache). ClinicConfig.ready() reads the declarations of every installed model,
so this app never names the models of the apps above it.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ClinicScope:
    # The lookup from the model to its Clinic ("clinic", "pump__clinic"); None for Clinic itself.
    path: str | None
    # Recorded in the audit trail with these auditlog.register() options; None: not audited.
    audit: dict | None = field(default=None, hash=False)
    # A save or delete changes the counted caseload (clinic.caseload_cache).
    caseload: bool = False


def scope_of(model) -> ClinicScope | None:
    return getattr(model, "clinic_scope", None)


def scoped_models() -> list:
    """Every installed model that declares a clinic scope (after the app registry is ready)."""
    from django.apps import apps

    return [model for model in apps.get_models() if scope_of(model) is not None]


def clinic_path(model) -> str:
    """The declared lookup from ``model`` to its clinic; a model without one is a programming error."""
    scope = scope_of(model)
    if scope is None or scope.path is None:
        raise LookupError(f"{model._meta.label} declares no clinic_scope path")
    return scope.path
