"""Load the pump models of SPEC section 2 (reference data)."""

from decimal import Decimal

from django.db import migrations

PUMP_MODELS = [
    # code, name, manufacturer, reservoir, alarm volume, service life months, stops after ERI days
    ("synchromed-ii-20", "SynchroMed II 20 mL", "Medtronic", "20", "2.0", 84, 90),
    ("synchromed-ii-40", "SynchroMed II 40 mL", "Medtronic", "40", "2.0", 84, 90),
    ("prometra-ii-20", "Prometra II 20 mL", "Flowonix", "20", "3.0", 120, None),
    ("prometra-ii-40", "Prometra II 40 mL", "Flowonix", "40", "3.0", 120, None),
    ("other", "Other", "", None, None, None, None),
]


def load(apps, schema_editor):
    PumpModel = apps.get_model("patients", "PumpModel")
    for code, name, maker, reservoir, alarm, life, stops in PUMP_MODELS:
        PumpModel.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "manufacturer": maker,
                "reservoir_ml": Decimal(reservoir) if reservoir else None,
                "alarm_volume_ml": Decimal(alarm) if alarm else None,
                "service_life_months": life,
                "max_refill_interval_days": 180,
                "stops_after_eri_days": stops,
            },
        )


def unload(apps, schema_editor):
    apps.get_model("patients", "PumpModel").objects.filter(code__in=[row[0] for row in PUMP_MODELS]).delete()


class Migration(migrations.Migration):
    dependencies = [("patients", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
