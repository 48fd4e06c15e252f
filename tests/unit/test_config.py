"""Settings: environment, secret files, and what production refuses."""
from __future__ import annotations

import pytest

from erp_common.config import ConfigError, load_settings, normalise_database_url

# What `openssl rand -hex 32` prints (a random key, made up for the tests).
STRONG = "9f1c0b7e42d86a35c1e0f4b297d3a6580e1b4c7d29f63a05b8e2d41c7f09a6e3"


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
            "REDIS_URL": "redis://:R3dis-pw-8d41@redis:6379/0",
            "ERP_ADMIN_PASSWORD": "a-real-admin-password", "ERP_SECRETS_DIR": "/nonexistent"}
    base.update(env)
    return load_settings({k: v for k, v in base.items() if v is not None})


def refused(settings, *, bootstraps_admin: bool = True) -> str:
    with pytest.raises(ConfigError) as raised:
        settings.check_production(bootstraps_admin=bootstraps_admin)
    message = str(raised.value)
    assert "\n" not in message  # `erp run` prints it as one line
    return message


def test_production_with_real_secrets_starts():
    production().check_production(bootstraps_admin=True)
    production(REDIS_URL=None).check_production(bootstraps_admin=True)  # no Redis: the in-process cache
    production(REDIS_URL="redis://redis:6379/0?password=R3dis-pw-8d41").check_production()


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


# Every sample key of the seed's usage document (SEED.md sections 2.3 and 3), and low-entropy ones.
@pytest.mark.parametrize("key, why", [
    ("your-secret-key-change-in-production", "default"),
    ("a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8s9t0u1v2w3x4y5z6", "sample"),
    ("your_very_strong_secret_key_that_is_at_least_32_characters_long", "sample"),
    ("your_very_strong_secret_key", "sample"),
    ("您的JWT密钥", "sample"),
    ("a" * 32, "repeated"),
    ("f" * 64, "repeated"),
    ("ab" * 20, "repeated"),
    ("secret" * 6, "repeated"),
    ("0123456789" * 3 + "01", "repeated"),  # a pattern with its last repetition cut off
    ("a" * 31 + "b", "different characters"),
    ("k3y" + "x" * 28, "shorter than 32"),
])
def test_production_refuses_sample_and_low_entropy_jwt_keys(key, why):
    message = refused(production(JWT_SECRET_KEY=key))
    assert "JWT_SECRET_KEY" in message and why in message


@pytest.mark.parametrize("password", [
    None, "admin123", "admin", "password", "12345678", "Password123", "P@ssw0rd", "qwerty123", "a-long-password",
    "short-pw1", "xyzxyzxyzxyz",
])
def test_production_refuses_short_common_and_sample_admin_passwords(password):
    settings = production(ERP_ADMIN_PASSWORD=password)
    settings.check_production()  # a function that does not create the admin starts
    assert "ERP_ADMIN_PASSWORD" in refused(settings)


def test_production_refuses_the_username_as_admin_password():
    message = refused(production(ERP_ADMIN_USERNAME="shopkeeper-lee", ERP_ADMIN_PASSWORD="Shopkeeper-Lee"))
    assert "ERP_ADMIN_PASSWORD" in message and "is the username" in message


@pytest.mark.parametrize("env, name", [
    ({"DATABASE_URL": "sqlite:///var/erp.sqlite3"}, "DATABASE_URL is a SQLite file"),
    ({"DATABASE_URL": "mysql://erp:your_secure_password@db/erp"}, "database password"),
    ({"DATABASE_URL": "mysql://erp:X7kL9mP2qR5tY8wZ@db/erp"}, "database password"),
    ({"DATABASE_URL": "mysql://erp:%E5%AF%86%E7%A0%81@db/erp"}, "database password"),  # 密码, URL-encoded
    ({"REDIS_URL": "redis://redis:6379/0"}, "REDIS_URL has no password"),
    ({"REDIS_URL": "redis://:your_secure_redis_password@redis:6379/0"}, "Redis password"),
    ({"REDIS_URL": "redis://redis:6379/0", "REDIS_PASSWORD": "123456"}, "Redis password"),
])
def test_production_refuses_sqlite_a_redis_without_password_and_sample_passwords(env, name):
    assert name in refused(production(**env), bootstraps_admin=False)


def test_every_problem_is_named_in_one_line():
    message = refused(production(JWT_SECRET_KEY="a" * 32, DATABASE_URL="sqlite:///x.db", REDIS_URL="redis://r/0",
                                 ERP_ADMIN_PASSWORD="admin123"))
    for name in ("JWT_SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ERP_ADMIN_PASSWORD"):
        assert name in message


def test_a_redis_password_from_the_secret_is_sent_without_a_user(tmp_path):
    # Redis 6+ would refuse AUTH with a user it has no ACL entry for (it used to be "root").
    (tmp_path / "erp-redis-password").write_text("R3dis-pw-8d41\n")
    settings = production(REDIS_URL="redis://redis:6379/0", ERP_SECRETS_DIR=str(tmp_path))
    assert settings.redis_url == "redis://:R3dis-pw-8d41@redis:6379/0"
    settings.check_production()


@pytest.mark.parametrize("value", ["prod", "Production ", "staging", "dev"])
def test_an_unknown_environment_refuses_to_start(value):
    if value.strip().lower() == "production":
        assert load_settings({"ERP_ENV": value}).production
        return
    with pytest.raises(ConfigError, match="ERP_ENV"):
        load_settings({"ERP_ENV": value})


@pytest.mark.parametrize("value", ["development", "test", "production", ""])
def test_the_known_environments_load(value):
    assert load_settings({"ERP_ENV": value}).env == (value or "development")


@pytest.mark.parametrize("env, name", [
    ({"JWT_ALGORITHM": "none"}, "JWT_ALGORITHM"),
    ({"JWT_ALGORITHM": "RS256"}, "JWT_ALGORITHM"),
    ({"REDIS_URL": "http://redis:6379"}, "REDIS_URL"),
    ({"ERP_LOGIN_MAX_FAILURES": "0"}, "ERP_LOGIN_MAX_FAILURES"),
    ({"ERP_LOGIN_LOCK_SECONDS": "five"}, "ERP_LOGIN_LOCK_SECONDS"),
])
def test_unusable_settings_are_named(env, name):
    with pytest.raises(ConfigError, match=name):
        load_settings(env)


@pytest.mark.parametrize("env, name", [
    ({"ERP_ENV": "production", "JWT_SECRET_KEY": "your-secret-key-change-in-production"}, "JWT_SECRET_KEY"),
    ({"ERP_ENV": "production", "JWT_SECRET_KEY": "a" * 32}, "JWT_SECRET_KEY"),
    ({"ERP_ENV": "prod"}, "ERP_ENV"),
])
@pytest.mark.parametrize("command", [["run", "--port", "0"], ["migrate"]])
def test_cli_refuses_to_start_with_one_line_and_exit_2(monkeypatch, capsys, env, name, command):
    from erp_local.cli import main

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main(command) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("erp: ") and name in lines[0], captured.err
    assert "Traceback" not in captured.err + captured.out


def test_bad_numbers_are_config_errors():
    with pytest.raises(ConfigError, match="JWT_EXPIRE_MINUTES"):
        load_settings({"JWT_EXPIRE_MINUTES": "soon"})


@pytest.mark.parametrize("url, says", [
    ("mysql://erp:secret-pw@127.0.0.1:1/erp", "Can't connect"),  # nothing listens on port 1
    ("oracle+nosuchdriver://erp@db/erp", "Can't load plugin"),
])
@pytest.mark.parametrize("command", [["migrate"], ["check", "stock"], ["run", "--port", "0"]])
def test_an_unusable_database_is_one_line_and_exit_2(tmp_path, url, says, command):
    import os
    import subprocess
    import sys

    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": "", "NATS_URL": ""}
    result = subprocess.run([sys.executable, "-m", "erp_local.cli", *command], env=env, capture_output=True,
                            text=True, timeout=60)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith("erp: cannot use the database") and says in lines[0], lines
    assert "secret-pw" not in result.stderr  # the password is not printed
