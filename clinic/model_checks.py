"""Model validation without work Django would throw away."""

from django.db.models import UniqueConstraint


class SkipsExcludedConstraints:
    """``Model.validate_constraints`` that returns at once when every constraint of the model
    is a unique constraint on fields one of which is excluded from validation.

    Django's ``UniqueConstraint.validate`` returns without checking anything when one of its
    fields is excluded, but only after building a queryset for it. A model form excludes the
    fields it does not hold (a patient's clinic, a fill's pump), so for the forms of the
    caseload import every constraint is skipped, and the querysets were a tenth of checking
    a row (issue 13). The result is the same: any other constraint is validated by Django.
    """

    def validate_constraints(self, exclude=None):
        if exclude and all(
            isinstance(constraint, UniqueConstraint) and constraint.fields and not exclude.isdisjoint(constraint.fields)
            for _model, constraints in self.get_constraints()
            for constraint in constraints
        ):
            return
        super().validate_constraints(exclude=exclude)
