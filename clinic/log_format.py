"""One JSON object per log line, for production (stdout, read by the container runtime).

Only the formatted message and a few known-safe fields are written: never the record's
``args`` or arbitrary ``extra`` values (Django attaches the whole request to some
records). Messages themselves carry ids, never patient names, doses or diagnoses
(CONVENTIONS: never log them). No Django import, so gunicorn.conf.py can use it.
"""

import json
import logging
from datetime import UTC, datetime

# ``extra`` keys copied when they are plain values: the response status from django.request.
SAFE_EXTRA = ("status_code",)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        for key in SAFE_EXTRA:
            value = getattr(record, key, None)
            if isinstance(value, int | str):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)
