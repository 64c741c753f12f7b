"""The large-caseload benchmark (issue 8): `make bench` runs bench/run.py."""
