"""Settings from environment variables and OpenFaaS secret files.

Each setting is read from its environment variable, else from its secret file in
``ERP_SECRETS_DIR`` (default ``/var/openfaas/secrets``), else its default. The seed's names
carry over (DATABASE_URL, REDIS_URL, JWT_SECRET_KEY, JWT_ALGORITHM, JWT_EXPIRE_MINUTES, DEBUG);
NATS_URL replaces KAFKA_BOOTSTRAP_SERVERS. ``ERP_ENV=production`` refuses default or missing
secrets with a message naming the setting to change.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from .errors import ConfigError

DEFAULT_JWT_SECRET = "your-secret-key-change-in-production"
DEFAULT_DB_PASSWORD = "password"
DEFAULT_REDIS_PASSWORD = "redis123456"
DEFAULT_ADMIN_PASSWORD = "admin123"
SECRETS_DIR = "/var/openfaas/secrets"


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    debug: bool = False
    database_url: str = ""
    redis_url: str = ""
    nats_url: str = ""
    jwt_secret_key: str = DEFAULT_JWT_SECRET
    jwt_algorithm: str = "HS256"
    jwt_expire_minutes: int = 30
    admin_username: str = "admin"
    admin_password: str = DEFAULT_ADMIN_PASSWORD
    gateway_url: str = "http://127.0.0.1:8080"
    data_dir: str = "var"
    login_max_failures: int = 5
    login_lock_seconds: int = 300
    db_pool_size: int = 10
    cache_prefix: str = "erp:"
    unpaid_order_minutes: int = 30
    points_per_unit: Decimal = Decimal("1")  # points earned per 1.00 paid (floored to whole points)
    points_expire_days: int = 365  # earned points expire this long after they were earned
    points_redeem_rate: int = 100  # points worth 1.00 at checkout
    points_redeem_cap: Decimal = Decimal("0.5")  # at most this share of an order may be paid in points
    sources: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def check_production(self, *, bootstraps_admin: bool = False) -> None:
        """Refuse default or missing secrets when ERP_ENV=production."""
        if not self.production:
            return
        problems = []
        if self.jwt_secret_key == DEFAULT_JWT_SECRET or len(self.jwt_secret_key) < 32:
            problems.append(
                "JWT_SECRET_KEY (or secret erp-jwt-secret) is missing, the default or shorter than "
                "32 characters: set a random one, e.g. `openssl rand -hex 32`"
            )
        if self.sources.get("database_url") == "default":
            problems.append("DATABASE_URL is not set: point it at your MySQL database")
        elif not self.is_sqlite:
            password = urlsplit(self.database_url).password
            if not password or password == DEFAULT_DB_PASSWORD:
                problems.append(
                    "the database password (in DATABASE_URL or secret erp-db-password) is missing "
                    "or the default 'password': set a strong one"
                )
        if self.redis_url and urlsplit(self.redis_url).password == DEFAULT_REDIS_PASSWORD:
            problems.append("the Redis password in REDIS_URL is the default 'redis123456': change it")
        if bootstraps_admin and self.admin_password in ("", DEFAULT_ADMIN_PASSWORD):
            problems.append(
                "ERP_ADMIN_PASSWORD (or secret erp-admin-password) is missing or the default "
                "'admin123': set the first administrator's password"
            )
        if problems:
            raise ConfigError("refusing to start with ERP_ENV=production: " + "; ".join(problems))


def _read_secret(secrets_dir: Path, name: str) -> str | None:
    try:
        return (secrets_dir / name).read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return None


def _with_password(url: str, password: str) -> str:
    """Put a password into a URL that has a user but no password."""
    parts = urlsplit(url)
    if not parts.hostname or parts.password:
        return url
    user = parts.username or "root"
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def normalise_database_url(url: str) -> str:
    """Use the PyMySQL driver for MySQL URLs (the seed's aiomysql URLs included)."""
    for prefix in ("mysql+aiomysql://", "mysql+mysqldb://", "mysql://", "mariadb://", "mariadb+pymysql://"):
        if url.startswith(prefix):
            url = "mysql+pymysql://" + url[len(prefix):]
            break
    if url.startswith("mysql+pymysql://") and "charset=" not in url:
        url += ("&" if "?" in url else "?") + "charset=utf8mb4"
    return url


def _bool(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if environ is None else environ)
    secrets_dir = Path(env.get("ERP_SECRETS_DIR", SECRETS_DIR))
    sources: dict[str, str] = {}

    def pick(key: str, var: str, secret: str | None, default: str) -> str:
        if env.get(var):
            sources[key] = "env"
            return env[var]
        if secret:
            value = _read_secret(secrets_dir, secret)
            if value:
                sources[key] = "secret"
                return value
        sources[key] = "default"
        return default

    data_dir = env.get("ERP_DATA_DIR", "var")
    database_url = pick("database_url", "DATABASE_URL", "erp-database-url", "")
    if not database_url:
        database_url = f"sqlite:///{Path(data_dir) / 'erp.sqlite3'}"
    db_password = _read_secret(secrets_dir, "erp-db-password")
    if db_password and not database_url.startswith("sqlite"):
        database_url = _with_password(database_url, db_password)
    redis_url = pick("redis_url", "REDIS_URL", None, "")
    redis_password = env.get("REDIS_PASSWORD") or _read_secret(secrets_dir, "erp-redis-password")
    if redis_url and redis_password:
        redis_url = _with_password(redis_url, redis_password)
    try:
        expire = int(env.get("JWT_EXPIRE_MINUTES", "30"))
        max_failures = int(env.get("ERP_LOGIN_MAX_FAILURES", "5"))
        lock_seconds = int(env.get("ERP_LOGIN_LOCK_SECONDS", "300"))
        pool_size = int(env.get("ERP_DB_POOL_SIZE", "10"))
        unpaid_minutes = int(env.get("ERP_UNPAID_ORDER_MINUTES", "30"))
        expire_days = int(env.get("ERP_POINTS_EXPIRE_DAYS", "365"))
        redeem_rate = int(env.get("ERP_POINTS_REDEEM_RATE", "100"))
    except ValueError as exc:
        raise ConfigError(f"a numeric setting is not a whole number: {exc}") from None
    try:
        per_unit = Decimal(env.get("ERP_POINTS_PER_UNIT", "1"))
        redeem_cap = Decimal(env.get("ERP_POINTS_REDEEM_CAP", "0.5"))
    except ArithmeticError:
        raise ConfigError("ERP_POINTS_PER_UNIT and ERP_POINTS_REDEEM_CAP must be decimal numbers") from None
    if not (per_unit >= 0 and expire_days > 0 and redeem_rate > 0 and 0 <= redeem_cap <= 1):
        raise ConfigError("points settings: ERP_POINTS_PER_UNIT >= 0, ERP_POINTS_EXPIRE_DAYS > 0, "
                          "ERP_POINTS_REDEEM_RATE > 0, 0 <= ERP_POINTS_REDEEM_CAP <= 1")
    if expire <= 0:
        raise ConfigError("JWT_EXPIRE_MINUTES must be a positive number of minutes")
    if unpaid_minutes < 0:
        raise ConfigError("ERP_UNPAID_ORDER_MINUTES must be zero or a positive number of minutes")
    return Settings(
        env=env.get("ERP_ENV", "development").strip().lower(),
        debug=_bool(env.get("DEBUG", "false")),
        database_url=normalise_database_url(database_url),
        redis_url=redis_url,
        nats_url=env.get("NATS_URL", ""),
        jwt_secret_key=pick("jwt_secret_key", "JWT_SECRET_KEY", "erp-jwt-secret", DEFAULT_JWT_SECRET),
        jwt_algorithm=env.get("JWT_ALGORITHM", "HS256"),
        jwt_expire_minutes=expire,
        admin_username=env.get("ERP_ADMIN_USERNAME", "admin"),
        admin_password=pick("admin_password", "ERP_ADMIN_PASSWORD", "erp-admin-password", DEFAULT_ADMIN_PASSWORD),
        gateway_url=env.get("GATEWAY_URL", env.get("ERP_GATEWAY_URL", "http://127.0.0.1:8080")).rstrip("/"),
        data_dir=data_dir,
        login_max_failures=max_failures,
        login_lock_seconds=lock_seconds,
        db_pool_size=pool_size,
        cache_prefix=env.get("ERP_CACHE_PREFIX", "erp:"),
        unpaid_order_minutes=unpaid_minutes,
        points_per_unit=per_unit,
        points_expire_days=expire_days,
        points_redeem_rate=redeem_rate,
        points_redeem_cap=redeem_cap,
        sources=sources,
    )


_lock = threading.Lock()
_settings: Settings | None = None


def get_settings() -> Settings:
    """The process's settings, read once; production checks run on first read."""
    global _settings
    if _settings is None:
        with _lock:
            if _settings is None:
                settings = load_settings()
                settings.check_production()
                _settings = settings
    return _settings


def configure(settings: Settings | None) -> None:
    """Replace the process's settings (the CLI and tests); None forgets them."""
    global _settings
    with _lock:
        _settings = settings
