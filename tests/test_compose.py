"""docker-compose.yml validates (no container engine here: `docker-compose config` only)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def compose_dir(tmp_path):
    for name in ("docker-compose.yml", "Dockerfile"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    return tmp_path


def compose_config(directory: Path) -> dict:
    executable = shutil.which("docker-compose")
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("docker-compose is missing: .ci/run installs it")
        pytest.skip("docker-compose is not installed (apt-get install docker-compose)")
    result = subprocess.run([executable, "config"], cwd=directory, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_compose_file_is_valid_and_has_the_services(compose_dir):
    config = compose_config(compose_dir)
    assert {"postgres", "redis", "web", "worker", "beat", "mailpit", "migrate"} <= set(config["services"])


def test_exactly_one_beat_and_no_broker_eviction(compose_dir):
    services = compose_config(compose_dir)["services"]
    assert services["beat"]["deploy"]["replicas"] == 1
    redis_command = " ".join(services["redis"]["command"])
    assert "noeviction" in redis_command and "--appendonly yes" in redis_command


def test_app_services_wait_for_healthy_dependencies(compose_dir):
    services = compose_config(compose_dir)["services"]
    for name in ("web", "worker", "beat"):
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
    assert "healthcheck" in services["postgres"]
