"""The screening pages' tests (candidates, trials, the pipeline, the admin), sharing conftest.py."""
