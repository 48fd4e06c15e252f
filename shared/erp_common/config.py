"""Settings from environment variables and OpenFaaS secret files.

Each setting is read from its environment variable, else from its secret file in
``ERP_SECRETS_DIR`` (default ``/var/openfaas/secrets``), else its default. The seed's names
carry over (DATABASE_URL, REDIS_URL, JWT_SECRET_KEY, JWT_ALGORITHM, JWT_EXPIRE_MINUTES, DEBUG);
NATS_URL replaces KAFKA_BOOTSTRAP_SERVERS. ``ERP_ENV`` is ``development`` (the default),
``production`` or ``test``; anything else refuses to start, so a typo such as ``prod`` cannot
quietly run with development's defaults. ``ERP_ENV=production`` refuses weak settings (missing,
default, sample, common or low-entropy secrets, SQLite, a Redis without a password) with one
line naming each setting to change.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit, urlunsplit

from .errors import ConfigError

DEFAULT_JWT_SECRET = "your-secret-key-change-in-production"
DEFAULT_DB_PASSWORD = "password"
DEFAULT_REDIS_PASSWORD = "redis123456"
DEFAULT_ADMIN_PASSWORD = "admin123"
SECRETS_DIR = "/var/openfaas/secrets"
ENVIRONMENTS = ("development", "production", "test")
JWT_ALGORITHMS = ("HS256", "HS384", "HS512")  # the key is a shared secret: HMAC only
REDIS_SCHEMES = ("redis", "rediss", "unix")
MIN_JWT_KEY_LENGTH = 32
DB_DRIVERS = ("auto", "mysqlclient", "pymysql")  # ERP_DB_DRIVER: auto is mysqlclient where installed
MIN_ADMIN_PASSWORD_LENGTH = 12  # the first administrator can do everything: more than user-create's 8

# Every secret the seed's usage document (SEED.md) and this README show as an example or a
# default. People copy examples: a production that runs on one of them runs on a public secret.
SAMPLE_SECRETS = frozenset({
    DEFAULT_JWT_SECRET,
    "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8s9t0u1v2w3x4y5z6",  # "openssl rand -hex 32" example output
    "your_very_strong_secret_key_that_is_at_least_32_characters_long",
    "your_very_strong_secret_key",
    "您的JWT密钥",
    DEFAULT_DB_PASSWORD,
    "X7kL9mP2qR5tY8wZ",  # "openssl rand -base64 16" example output
    "your_secure_password",
    "your_password",
    "您的数据库密码",
    "您的密码",
    "密码",
    DEFAULT_REDIS_PASSWORD,
    "your_secure_redis_password",
    "您的Redis密码",
    DEFAULT_ADMIN_PASSWORD,
    "admin",  # the seed's monitoring example (GF_SECURITY_ADMIN_PASSWORD)
    "a-long-password",  # README's user-create example
})

# The most used passwords of the public breach lists (NCSC's top 100,000, SplashData, NordPass),
# compared in lower case. A list, not a strength meter: it stops what an attacker tries first.
COMMON_PASSWORDS = frozenset("""
123456 123456789 12345678 1234567890 12345 1234567 123123 1234 111111 000000 123321 654321 666666
121212 112233 123qwe 1q2w3e 1q2w3e4r 1q2w3e4r5t 1qaz2wsx qwerty qwerty123 qwertyuiop qwe123 asdfgh
asdf1234 zxcvbnm 1qazxsw2 password password1 password123 password! passw0rd p@ssw0rd p@ssword
pass1234 admin admin123 admin1234 admin@123 administrator root root123 toor changeme changeit
default guest letmein welcome welcome1 welcome123 iloveyou monkey dragon master football baseball
superman batman trustno1 sunshine princess shadow michael jennifer hunter2 abc123 abcd1234
a1b2c3d4 aa123456 secret secret123 test test123 test1234 testing demo demo123 user user123 login
system manager 88888888 11111111 12341234 123456a a123456 qazwsxedc q1w2e3r4 q1w2e3r4t5 zaq12wsx
1qaz@wsx 7777777 987654321 qwerty1 iloveyou1 starwars whatever freedom computer internet
mysql mariadb redis erp erp123 openfaas
""".split())


@dataclass(frozen=True)
class RateLimits:
    """Requests per window and class (sign-in, write, read) for one user; an address gets
    ``address_factor`` times as many (a shop's tills share one address). 0 turns a class off."""

    window: int = 60
    per_user: dict[str, int] = field(default_factory=lambda: {"sign-in": 30, "write": 600, "read": 1800})
    address_factor: int = 20

    def per_address(self, kind: str) -> int:
        return self.per_user.get(kind, 0) * self.address_factor


def parse_rate_limits(text: str, window: int) -> RateLimits:
    """``ERP_RATE_LIMITS`` such as ``sign-in=30,write=600,read=1800,address-factor=20``."""
    limits = RateLimits(window=window)
    per_user, factor = dict(limits.per_user), limits.address_factor
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.partition("=")
        name = name.strip()
        if name not in (*per_user, "address-factor") or not value.strip().isascii() or not value.strip().isdigit():
            raise ConfigError(f"ERP_RATE_LIMITS: {part!r} is not one of sign-in=N, write=N, read=N, "
                              "address-factor=N (whole numbers)")
        if name == "address-factor":
            factor = max(1, int(value))
        else:
            per_user[name] = int(value)
    return RateLimits(window=window, per_user=per_user, address_factor=factor)


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    debug: bool = False
    database_url: str = ""
    # A MySQL replica for the operations declared read-only (GET); empty: everything on the primary.
    database_read_url: str = ""
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
    import_sync_rows: int = 2000  # a CSV import of more rows than this runs in the background (202)
    login_address_factor: int = 20  # one address may try sign-ins this many times a username's allowance
    db_pool_size: int = 20  # erp run serves 16 request threads; a container 4
    db_lock_wait_seconds: int = 3  # how long a statement waits for a row lock (SQLite: the write lock)
    db_prepared: bool = True  # the hot writes' statements run on the driver's cursor (erp_common.prepared)
    db_driver: str = "auto"  # the MySQL driver (db.mysql_driver): mysqlclient where installed, else PyMySQL
    rate_limits: RateLimits = field(default_factory=RateLimits)
    # When set, functions called by the connectors (jobs, event consumers) want it in X-Connector-Secret
    # (or an administrator's token): for deployments whose connectors can send it (erp run's do).
    connector_secret: str = ""
    cache_prefix: str = "erp:"
    unpaid_order_minutes: int = 30
    # A purchaser approves purchase orders up to this total; above it a manager must.
    purchaser_approval_limit: Decimal = Decimal("5000.00")
    # How much more than ordered a PO line may receive, in %, unless the PO says otherwise.
    po_over_receipt_percent: Decimal = Decimal("0")
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
        """Refuse weak settings when ERP_ENV=production: one ConfigError naming every setting to change."""
        if not self.production:
            return
        problems = []
        key_problem = weak_jwt_key(self.jwt_secret_key)
        if key_problem:
            problems.append(f"JWT_SECRET_KEY (or secret erp-jwt-secret) {key_problem}: "
                            "set a random one, e.g. `openssl rand -hex 32`")
        if self.sources.get("database_url") == "default":
            problems.append("DATABASE_URL is not set: point it at your MySQL database")
        elif self.is_sqlite:
            problems.append("DATABASE_URL is a SQLite file: production needs MySQL or MariaDB, which every "
                            "replica shares")
        else:
            password = _url_password(self.database_url)
            if not password:
                problems.append("the database password (in DATABASE_URL or secret erp-db-password) is missing")
            elif _is_known_password(password):
                problems.append("the database password (in DATABASE_URL or secret erp-db-password) is a sample "
                                "or common password: set a strong one")
        if self.redis_url:
            password = _url_password(self.redis_url)
            if not password:
                problems.append("REDIS_URL has no password (put it in the URL, REDIS_PASSWORD or secret "
                                "erp-redis-password): anyone who reaches Redis could rewrite users' states")
            elif _is_known_password(password):
                problems.append("the Redis password (in REDIS_URL, REDIS_PASSWORD or secret erp-redis-password) "
                                "is a sample or common password: change it")
        if bootstraps_admin:
            admin_problem = weak_admin_password(self.admin_password, self.admin_username)
            if admin_problem:
                problems.append(f"ERP_ADMIN_PASSWORD (or secret erp-admin-password) {admin_problem}: "
                                "set the first administrator's password")
        if problems:
            raise ConfigError("refusing to start with ERP_ENV=production: " + "; ".join(problems))


def _repeats_a_pattern(text: str) -> bool:
    """True if ``text`` is a shorter piece said at least twice over ("aaaa", "abab", "0123456789012345",
    a cut-off last repetition included)."""
    # The shortest period of text is len(text) minus its longest border (a proper prefix that is
    # also a suffix), which the KMP prefix function gives in one pass.
    border = [0] * len(text)
    for i in range(1, len(text)):
        k = border[i - 1]
        while k and text[i] != text[k]:
            k = border[k - 1]
        border[i] = k + (text[i] == text[k])
    return len(text) > 1 and len(text) - border[-1] <= len(text) // 2


def weak_jwt_key(key: str) -> str | None:
    """Why ``key`` is unfit to sign production tokens, or None.

    A heuristic against the keys people actually deploy by mistake (defaults, examples, one
    character or a pattern repeated), not an entropy meter: a random key from ``openssl rand``
    always passes.
    """
    if not key or key == DEFAULT_JWT_SECRET:
        return "is missing or the default"
    if key in SAMPLE_SECRETS:
        return "is a sample key from the documentation"
    if len(key) < MIN_JWT_KEY_LENGTH:
        return f"is shorter than {MIN_JWT_KEY_LENGTH} characters"
    if _repeats_a_pattern(key):
        return "is one character or a short pattern repeated"
    if len(set(key)) < 8:
        return "has fewer than 8 different characters"
    return None


def _is_known_password(password: str) -> bool:
    return password in SAMPLE_SECRETS or password.lower() in COMMON_PASSWORDS


def weak_admin_password(password: str, username: str = "") -> str | None:
    """Why ``password`` is unfit for the first production administrator, or None."""
    if not password or password == DEFAULT_ADMIN_PASSWORD:
        return "is missing or the default 'admin123'"
    if _is_known_password(password):
        return "is a sample or common password"
    if len(password) < MIN_ADMIN_PASSWORD_LENGTH:
        return f"is shorter than {MIN_ADMIN_PASSWORD_LENGTH} characters"
    if username and password.lower() == username.lower():
        return "is the username"
    if _repeats_a_pattern(password):
        return "is one character or a short pattern repeated"
    return None


def _url_password(url: str) -> str:
    """The password in a database or Redis URL (``user:pw@`` or Redis's ``?password=``), decoded."""
    parts = urlsplit(url)
    if parts.password:
        return unquote(parts.password)
    return (parse_qs(parts.query).get("password") or [""])[0]


def _read_secret(secrets_dir: Path, name: str) -> str | None:
    try:
        return (secrets_dir / name).read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return None


def _with_password(url: str, password: str, default_user: str = "root") -> str:
    """Put a password into a URL that has none (a URL without a user gets ``default_user``)."""
    parts = urlsplit(url)
    if not parts.hostname or parts.password:
        return url
    user = parts.username or default_user
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def normalise_database_url(url: str) -> str:
    """Write MySQL URLs one way, ``mysql+pymysql://`` (the seed's aiomysql URLs included), with utf8mb4.

    The driver the engine then connects through is ``ERP_DB_DRIVER``'s (``db.mysql_driver``):
    mysqlclient where it is installed, PyMySQL otherwise.
    """
    for prefix in ("mysql+aiomysql://", "mysql+mysqldb://", "mysql://", "mariadb://", "mariadb+pymysql://"):
        if url.startswith(prefix):
            url = "mysql+pymysql://" + url[len(prefix):]
            break
    if url.startswith("mysql+pymysql://") and "charset=" not in url:
        url += ("&" if "?" in url else "?") + "charset=utf8mb4"
    return url


def truthy(value: str) -> bool:
    """A yes/no setting as written in the environment or a URL: 1, true, yes, on (any case)."""
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
    database_read_url = pick("database_read_url", "DATABASE_READ_URL", "erp-database-read-url", "")
    if database_read_url and db_password and not database_read_url.startswith("sqlite"):
        database_read_url = _with_password(database_read_url, db_password)  # the replica has the same user
    redis_url = pick("redis_url", "REDIS_URL", None, "")
    redis_password = env.get("REDIS_PASSWORD") or _read_secret(secrets_dir, "erp-redis-password")
    if redis_url and urlsplit(redis_url).scheme not in REDIS_SCHEMES:
        raise ConfigError(f"REDIS_URL must start with {', '.join(s + '://' for s in REDIS_SCHEMES)}")
    if redis_url and redis_password:
        # No user: Redis's password-only AUTH (``redis://:pw@host``). A made-up user name would be
        # sent to AUTH and refused by every Redis 6+ that has no such ACL user.
        redis_url = _with_password(redis_url, redis_password, default_user="")
    environment = (env.get("ERP_ENV") or "development").strip().lower()
    if environment not in ENVIRONMENTS:
        raise ConfigError(f"ERP_ENV={env.get('ERP_ENV')!r} is not one of {', '.join(ENVIRONMENTS)}: "
                          "refusing to guess which one was meant")
    algorithm = env.get("JWT_ALGORITHM") or "HS256"
    if algorithm not in JWT_ALGORITHMS:
        raise ConfigError(f"JWT_ALGORITHM={algorithm!r} is not one of {', '.join(JWT_ALGORITHMS)} "
                          "(the key is a shared secret)")
    def number(var: str, default: int, minimum: int) -> int:
        raw = env.get(var) or str(default)
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{var}={raw!r} is not a whole number") from None
        if value < minimum:
            raise ConfigError(f"{var} must be at least {minimum}, not {value}")
        return value

    expire = number("JWT_EXPIRE_MINUTES", 30, 1)
    max_failures = number("ERP_LOGIN_MAX_FAILURES", 5, 1)
    lock_seconds = number("ERP_LOGIN_LOCK_SECONDS", 300, 1)
    address_factor = number("ERP_LOGIN_ADDRESS_FACTOR", 20, 1)
    import_sync_rows = number("ERP_IMPORT_SYNC_ROWS", 2000, 1)
    pool_size = number("ERP_DB_POOL_SIZE", 20, 1)
    lock_wait = number("ERP_DB_LOCK_WAIT_SECONDS", 3, 1)
    db_driver = (env.get("ERP_DB_DRIVER") or "auto").strip().lower()
    if db_driver not in DB_DRIVERS:
        raise ConfigError(f"ERP_DB_DRIVER={env.get('ERP_DB_DRIVER')!r} is not one of {', '.join(DB_DRIVERS)}")
    rate_limits = parse_rate_limits(env.get("ERP_RATE_LIMITS", ""), number("ERP_RATE_WINDOW_SECONDS", 60, 1))
    unpaid_minutes = number("ERP_UNPAID_ORDER_MINUTES", 30, 0)
    try:
        approval_limit = Decimal(env.get("ERP_PURCHASER_APPROVAL_LIMIT", "5000.00"))
        over_receipt = Decimal(env.get("ERP_PO_OVER_RECEIPT_PERCENT", "0"))
    except ArithmeticError:
        raise ConfigError("ERP_PURCHASER_APPROVAL_LIMIT and ERP_PO_OVER_RECEIPT_PERCENT must be numbers") from None
    if not (approval_limit.is_finite() and approval_limit >= 0
            and over_receipt.is_finite() and 0 <= over_receipt <= 100):
        raise ConfigError("ERP_PURCHASER_APPROVAL_LIMIT must be >= 0 and ERP_PO_OVER_RECEIPT_PERCENT within 0..100")
    expire_days = number("ERP_POINTS_EXPIRE_DAYS", 365, 1)
    redeem_rate = number("ERP_POINTS_REDEEM_RATE", 100, 1)
    try:
        per_unit = Decimal(env.get("ERP_POINTS_PER_UNIT", "1"))
        redeem_cap = Decimal(env.get("ERP_POINTS_REDEEM_CAP", "0.5"))
    except ArithmeticError:
        raise ConfigError("ERP_POINTS_PER_UNIT and ERP_POINTS_REDEEM_CAP must be decimal numbers") from None
    if not (per_unit.is_finite() and per_unit >= 0 and redeem_cap.is_finite() and 0 <= redeem_cap <= 1):
        raise ConfigError("points settings: ERP_POINTS_PER_UNIT >= 0 and 0 <= ERP_POINTS_REDEEM_CAP <= 1")
    return Settings(
        env=environment,
        debug=truthy(env.get("DEBUG", "false")),
        database_url=normalise_database_url(database_url),
        database_read_url=normalise_database_url(database_read_url) if database_read_url else "",
        redis_url=redis_url,
        nats_url=env.get("NATS_URL", ""),
        jwt_secret_key=pick("jwt_secret_key", "JWT_SECRET_KEY", "erp-jwt-secret", DEFAULT_JWT_SECRET),
        jwt_algorithm=algorithm,
        jwt_expire_minutes=expire,
        admin_username=env.get("ERP_ADMIN_USERNAME", "admin"),
        admin_password=pick("admin_password", "ERP_ADMIN_PASSWORD", "erp-admin-password", DEFAULT_ADMIN_PASSWORD),
        gateway_url=env.get("GATEWAY_URL", env.get("ERP_GATEWAY_URL", "http://127.0.0.1:8080")).rstrip("/"),
        data_dir=data_dir,
        login_max_failures=max_failures,
        login_lock_seconds=lock_seconds,
        login_address_factor=address_factor,
        import_sync_rows=import_sync_rows,
        db_pool_size=pool_size,
        db_lock_wait_seconds=lock_wait,
        db_prepared=truthy(env.get("ERP_DB_PREPARED", "true")),
        db_driver=db_driver,
        rate_limits=rate_limits,
        connector_secret=pick("connector_secret", "ERP_CONNECTOR_SECRET", "erp-connector-secret", ""),
        cache_prefix=env.get("ERP_CACHE_PREFIX", "erp:"),
        unpaid_order_minutes=unpaid_minutes,
        purchaser_approval_limit=approval_limit,
        po_over_receipt_percent=over_receipt,
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
