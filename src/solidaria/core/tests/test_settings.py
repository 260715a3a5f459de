"""The settings module: production checks and the secret kept under the data directory."""

import os
import subprocess
import sys
from pathlib import Path

import pytest


def _solidaria(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "solidaria", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.slow
def test_check_deploy_is_clean_with_production_variables(tmp_path: Path):
    """Slow (about 1 s): starts a new Python process with production settings."""
    # given
    env = {
        "SOLIDARIA_DATA_DIR": str(tmp_path),
        "SECRET_KEY": "x" * 20 + "-production-secret-" + "y" * 30,
        "SOLIDARIA_BASE_URL": "https://crm.example.org",
        "DEBUG": "false",
        "DATABASE_URL": "",
    }

    # when
    result = _solidaria(["check", "--deploy", "--fail-level", "WARNING"], env)

    # then
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.slow
def test_without_secret_key_one_is_generated_once_under_the_data_dir(tmp_path: Path):
    """Slow (about 1 s): two new Python processes must read the same generated secret."""
    env = {"SOLIDARIA_DATA_DIR": str(tmp_path), "SECRET_KEY": "", "DATABASE_URL": ""}
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    runs = [
        subprocess.run(
            [
                sys.executable,
                "-c",
                f"import django, os; os.environ['DJANGO_SETTINGS_MODULE']='solidaria.settings'; django.setup(); {code}",
            ],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.strip()
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    assert len(runs[0]) >= 50
    secret_file = tmp_path / "secret_key"
    assert oct(secret_file.stat().st_mode & 0o777) == "0o600"
