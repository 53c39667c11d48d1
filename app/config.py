"""Configuration from the environment (see the README for every variable)."""

import os
import secrets
from pathlib import Path


class MissingSecretKey(SystemExit):
    """Raised at start-up when production has no SECRET_KEY: one line, no traceback."""


def _local_secret_key(instance_path: Path) -> str:
    """A random key kept under instance/, so local sign-ins survive a restart."""
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def load_config(instance_path: str) -> dict:
    """Settings for one app, read from the environment at start-up."""
    instance = Path(instance_path)
    env = os.environ.get("APP_ENV", "development")
    is_production = env == "production"

    secret_key = os.environ.get("SECRET_KEY")
    if not secret_key:
        if is_production:
            raise MissingSecretKey(
                "SECRET_KEY is not set: export SECRET_KEY=<a long random string> "
                "before starting in production (APP_ENV=production)."
            )
        secret_key = _local_secret_key(instance)

    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'kynangso.sqlite'}"
    import_max_bytes = int(os.environ.get("IMPORT_MAX_BYTES", str(5 * 1024 * 1024)))
    return {
        "APP_ENV": env,
        "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": _driver_url(database_url),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "PASSWORD_HASH_METHOD": "scrypt",
        "PROVINCE_CODE": int(os.environ.get("PROVINCE_CODE", "66")),
        "TARGET_HOUSEHOLDS": int(os.environ.get("TARGET_HOUSEHOLDS", "257959")),
        "BABEL_DEFAULT_LOCALE": "vi",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
        "BABEL_TRANSLATION_DIRECTORIES": str(Path(__file__).parent.parent / "translations"),
        "LANGUAGES": ("vi", "en"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": is_production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": is_production,
        # Household files for /imports and `flask import households`. A request may be a little
        # larger than the file it carries (the form around it); anything bigger answers 413.
        "IMPORT_MAX_BYTES": import_max_bytes,
        "MAX_CONTENT_LENGTH": import_max_bytes + 64 * 1024,
        # A volunteer may take a while to fill a form outdoors; the token lives as long as the sign-in.
        "WTF_CSRF_TIME_LIMIT": None,
        # After this many failed sign-ins for one phone number within the window, that number
        # is refused until the window passes without new attempts (app/auth/throttle.py).
        "SIGN_IN_MAX_FAILURES": 5,
        "SIGN_IN_WINDOW_MINUTES": 15,
        # The licence of /open-data: its name and the address of its text (a link, never fetched).
        "OPEN_DATA_LICENCE": os.environ.get("OPEN_DATA_LICENCE", "CC BY 4.0"),
        "OPEN_DATA_LICENCE_URL": os.environ.get(
            "OPEN_DATA_LICENCE_URL", "https://creativecommons.org/licenses/by/4.0/"
        ),
        # Requests one API token may make per minute, counted in the database (app/api/tokens.py).
        "API_TOKEN_RATE_PER_MINUTE": int(os.environ.get("API_TOKEN_RATE_PER_MINUTE", "120")),
        # The sessions feed shows a change once it is this old, so a write still being saved
        # (its updated_at taken, its commit not yet done) is never paged past.
        "API_FEED_SETTLE_SECONDS": int(os.environ.get("API_FEED_SETTLE_SECONDS", "30")),
    }


def _driver_url(url: str) -> str:
    """Accept the usual postgres:// spellings and use the psycopg 3 driver for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
