"""Settings: environment, secret files, and what production refuses."""
from __future__ import annotations

import pytest

from erp_common.config import ConfigError, load_settings, normalise_database_url

STRONG = "f" * 64


def test_defaults_are_embedded():
    settings = load_settings({"ERP_DATA_DIR": "/tmp/x"})
    assert settings.database_url == "sqlite:////tmp/x/erp.sqlite3"
    assert settings.jwt_expire_minutes == 30 and settings.jwt_algorithm == "HS256"
    assert not settings.redis_url and not settings.nats_url


def test_secret_files_fill_in_what_the_environment_leaves_out(tmp_path):
    (tmp_path / "erp-jwt-secret").write_text(STRONG + "\n")
    (tmp_path / "erp-db-password").write_text("p@ss:word")
    settings = load_settings({"ERP_SECRETS_DIR": str(tmp_path), "DATABASE_URL": "mysql://erp@db:3306/erp"})
    assert settings.jwt_secret_key == STRONG
    assert settings.database_url == "mysql+pymysql://erp:p%40ss%3Aword@db:3306/erp?charset=utf8mb4"


def test_environment_wins_over_secret_files(tmp_path):
    (tmp_path / "erp-jwt-secret").write_text("from-file-" + "y" * 40)
    settings = load_settings({"ERP_SECRETS_DIR": str(tmp_path), "JWT_SECRET_KEY": STRONG})
    assert settings.jwt_secret_key == STRONG


@pytest.mark.parametrize("url, expected", [
    ("mysql+aiomysql://root:pw@mysql:3306/erp", "mysql+pymysql://root:pw@mysql:3306/erp?charset=utf8mb4"),
    ("mysql://root:pw@h/erp?charset=latin1", "mysql+pymysql://root:pw@h/erp?charset=latin1"),
    ("sqlite:///var/erp.sqlite3", "sqlite:///var/erp.sqlite3"),
])
def test_database_urls_use_pymysql(url, expected):
    assert normalise_database_url(url) == expected


def production(**env):
    base = {"ERP_ENV": "production", "JWT_SECRET_KEY": STRONG, "DATABASE_URL": "mysql://erp:Str0ng-pw@db/erp",
            "ERP_ADMIN_PASSWORD": "a-real-admin-password", "ERP_SECRETS_DIR": "/nonexistent"}
    base.update(env)
    return load_settings({k: v for k, v in base.items() if v is not None})


def test_production_with_real_secrets_starts():
    production().check_production(bootstraps_admin=True)


@pytest.mark.parametrize("env, names", [
    ({"JWT_SECRET_KEY": None}, "JWT_SECRET_KEY"),
    ({"JWT_SECRET_KEY": "your-secret-key-change-in-production"}, "JWT_SECRET_KEY"),
    ({"JWT_SECRET_KEY": "short"}, "JWT_SECRET_KEY"),
    ({"DATABASE_URL": None}, "DATABASE_URL"),
    ({"DATABASE_URL": "mysql://root:password@db/erp"}, "database password"),
    ({"DATABASE_URL": "mysql://root@db/erp"}, "database password"),
    ({"REDIS_URL": "redis://:redis123456@redis:6379/0"}, "Redis password"),
])
def test_production_refuses_defaults_and_names_the_setting(env, names):
    with pytest.raises(ConfigError, match=names):
        production(**env).check_production()


@pytest.mark.parametrize("password", [None, "admin123"])
def test_production_refuses_the_default_admin_password_where_it_creates_the_admin(password):
    settings = production(ERP_ADMIN_PASSWORD=password)
    settings.check_production()  # a function that does not create the admin starts
    with pytest.raises(ConfigError, match="ERP_ADMIN_PASSWORD"):
        settings.check_production(bootstraps_admin=True)


def test_cli_refuses_to_start_in_production_with_defaults(monkeypatch, capsys):
    from erp_local.cli import main

    monkeypatch.setenv("ERP_ENV", "production")
    monkeypatch.setenv("JWT_SECRET_KEY", "your-secret-key-change-in-production")
    assert main(["run", "--port", "0"]) == 2
    assert "JWT_SECRET_KEY" in capsys.readouterr().err


def test_bad_numbers_are_config_errors():
    with pytest.raises(ConfigError):
        load_settings({"JWT_EXPIRE_MINUTES": "soon"})
