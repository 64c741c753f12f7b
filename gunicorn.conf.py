"""gunicorn reads this file from the working directory (the repository root, /app in the image).

Only how gunicorn logs: JSON lines on stdout like the rest of the app (clinic.log_format),
and an access log format with the path but not the query string (search boxes put patient
names there). Workers, bind, timeout and `--access-logfile -` stay on the command line
(docker-compose.yml, Dockerfile).
"""

import logging
import sys

from gunicorn.glogging import Logger

from clinic.log_format import JsonFormatter

access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
# No runtime control socket (gunicorn 24+): signals suffice, and a container has no home for it.
control_socket_disable = True


class JsonLogger(Logger):
    """gunicorn's own logger with every line as JSON on stdout."""

    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                if isinstance(handler, logging.StreamHandler):
                    handler.setStream(sys.stdout)
                handler.setFormatter(JsonFormatter())


logger_class = JsonLogger
