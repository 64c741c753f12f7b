"""The reminder sweep over the seeded clinics (reminders.sweep.run_sweep, what beat runs).

1. A first sweep at 10:00 clinic time writes every reminder due in the seeded data
   (a catch-up, reported for information).
2. Its rows are then marked sent, as workers would have done.
3. "Nothing due": the next sweep, five minutes later, finds every due reminder already
   written: the sweep every clinic runs all day long.
4. "1% due": the rows of 1% of the largest clinic's pumps are deleted, so their
   reminders (refill needed, escalations) are due again, and the sweep after that writes them.
"""

import time
from datetime import datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

from django.db.models import Count
from django.utils import timezone

from patients.models import Pump


def measure(report, reminders, reminder_model, *, log):
    entry = report.seeded[max(report.sizes)]
    clinic = entry.clinic
    pumps = Pump.objects.count()
    zone = ZoneInfo(clinic.time_zone)
    start = datetime.combine(clinic.today(), clock(10, 0), tzinfo=zone).astimezone(ZoneInfo("UTC"))
    if start > timezone.now():
        start -= timedelta(days=1)  # never in the future: the seeded statuses are for today
    results = []

    def sweep(label, now, target):
        t0 = time.perf_counter()
        run = reminders.run_sweep(now)
        seconds = time.perf_counter() - t0
        log(f"  sweep ({label}): {run.rows_created:,} rows written in {seconds:.2f} s")
        result = {"label": label, "seconds": seconds, "rows": run.rows_created, "pumps": pumps, "target": target}
        results.append(result)
        return run

    reminder_model.objects.all().delete()
    sweep("first sweep, catch-up of everything due in the seeded data", start, False)
    by_kind = dict(reminder_model.objects.values_list("kind").annotate(n=Count("pk")).values_list("kind", "n"))
    reminder_model.objects.filter(status="pending").update(status="sent", sent_at=start)
    sweep("nothing due (every due reminder already written)", start + timedelta(minutes=5), True)
    hundredth = max(1, entry.size // 100)
    pump_ids = list(
        reminder_model.objects.filter(pump__clinic=clinic, kind__in=["refill_needed", "escalation"])
        .values_list("pump_id", flat=True)
        .distinct()
        .order_by("pump_id")[:hundredth]
    )
    deleted, _ = reminder_model.objects.filter(pump_id__in=pump_ids).delete()
    sweep(f"1% due ({len(pump_ids):,} pumps' reminders due again)", start + timedelta(minutes=10), True)
    report.sweep_results += [result for result in results if result["target"]]
    first = results[0]
    report.notes.append(
        f"Reminder sweep: run_sweep() over all seeded clinics ({pumps:,} pumps), at 10:00 clinic time. "
        f"The first sweep wrote {first['rows']:,} rows in {first['seconds']:.1f} s "
        f"({', '.join(f'{n:,} {k}' for k, n in sorted(by_kind.items()))}); its rows were marked sent. "
        f"For the 1% case, {deleted:,} rows of {len(pump_ids):,} pumps were deleted so they came due again."
    )
