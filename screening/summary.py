"""A trial as a clinician reads it at a glance: per muscle group the score before, the best
after and the change; whether the scores show the effect and how long it was seen."""

from dataclasses import dataclass
from decimal import Decimal

from screening import engine
from screening.models import MuscleGroup, ScreeningTrial

GROUP_ORDER = [group for group, _label in MuscleGroup.choices]


@dataclass(frozen=True)
class GroupRow:
    label: str
    before: str
    best_after: str
    best_after_hours: Decimal
    change: int

    @property
    def change_text(self) -> str:
        """The change in MAS steps with its sign ("-2 steps", "0", "+1 step")."""
        if self.change == 0:
            return "no change"
        steps = "step" if abs(self.change) == 1 else "steps"
        return f"{self.change:+d} {steps}".replace("-", "\u2212")

    @property
    def tone(self) -> str:
        return "better" if self.change < 0 else ("worse" if self.change > 0 else "same")


@dataclass(frozen=True)
class TrialRow:
    trial: ScreeningTrial
    groups: list
    effective: bool
    effect_hours: Decimal | None
    time_points: list  # hours after the dose, in order


def trial_row(trial: ScreeningTrial, engine_trial: engine.Trial | None = None) -> TrialRow:
    engine_trial = engine_trial or trial.as_engine_trial()
    groups = [
        GroupRow(
            label=str(MuscleGroup(row.group).label),
            before=row.before,
            best_after=row.best_after,
            best_after_hours=row.best_after_hours,
            change=row.change,
        )
        for row in engine.compare_groups(engine_trial, order=GROUP_ORDER)
    ]
    return TrialRow(
        trial=trial,
        groups=groups,
        effective=engine.is_effective(engine_trial),
        effect_hours=engine.effect_duration_hours(engine_trial),
        time_points=[point.hours for point in engine_trial.after],
    )
