"""Configuration: one pydantic Settings model.

Precedence (highest first): environment variables ``PM_MCP_*``, then the optional TOML file
``$PM_MCP_HOME/config.toml``, then the defaults below. The names are a contract (README,
other modules and tests rely on them). The risk policy comes from here only: no tool can loosen it.
"""

from __future__ import annotations

import ipaddress
import os
import stat
import tomllib
import urllib.parse
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from pm_mcp.venues.registry import VENUES

KNOWN_VENUES = tuple(VENUES)  # every venue the registry lists, in its order

PRODUCTION_URLS = {
    "polymarket_gamma_url": "https://gamma-api.polymarket.com",
    "polymarket_clob_url": "https://clob.polymarket.com",
    "polymarket_data_url": "https://data-api.polymarket.com",
    "kalshi_url": "https://api.elections.kalshi.com/trade-api/v2",
    "manifold_url": "https://api.manifold.markets",
}


def default_home() -> Path:
    env = os.environ.get("PM_MCP_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("pm-mcp", appauthor=False))


def ensure_private_dir(path: Path) -> Path:
    """The data directory, created with mode 0700; an existing one that we own loses its group and other
    permission bits (it holds the journal, tokens and keys' derived files: nobody else's to read)."""
    path = Path(path)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = path.stat()
    if st.st_uid == os.getuid() and stat.S_IMODE(st.st_mode) & 0o077:
        path.chmod(stat.S_IMODE(st.st_mode) & 0o700)
    return path


def write_private_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` with mode 0600 from the first byte (never readable by others, not even
    briefly); replaces an existing file atomically."""
    path = Path(path)
    ensure_private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _secure_url(url: str) -> bool:
    """https, or http on a loopback host; a host and nothing after the path."""
    parts = urllib.parse.urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return False
    if not parts.hostname or parts.query or parts.fragment or parts.username or parts.password:
        return False
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and is_loopback(parts.hostname)


_HTTPS_URL = ("must be an https:// URL (http:// only on a loopback host, for tests), with no query, fragment or "
              "user, such as https://login.example.org")
# the optional text settings checked alike: blank is unset; otherwise the value is taken stripped and must pass its
# check (the message says what is allowed)
_CHECKED_TEXT: dict[str, tuple[Callable[[str], bool], str]] = {
    "auth_issuer": (_secure_url, _HTTPS_URL),
    "auth_jwks_url": (_secure_url, _HTTPS_URL),
    "auth_audience": (lambda v: not any(c.isspace() for c in v),
                      "must be one audience (this server's resource URL, such as https://pm.example.org/mcp), "
                      "without spaces"),
    "auth_page_client_id": (lambda v: not any(c.isspace() or not c.isprintable() for c in v),
                            "must be the OAuth client id the issuer registered for the approval page, without "
                            "spaces"),
}


class _TomlSource(PydanticBaseSettingsSource):
    """Reads ``$PM_MCP_HOME/config.toml`` (flat keys, same names as the fields, lower case)."""

    def get_field_value(self, field, field_name):  # pragma: no cover - unused by pydantic here
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = default_home() / "config.toml"
        if not path.is_file():
            return {}
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path} is not valid TOML: {exc}") from exc
        # accept both `bankroll = 1000` and a `[pm_mcp]` table
        if isinstance(data.get("pm_mcp"), dict):
            data = {**data, **data.pop("pm_mcp")}
        return {k.lower(): v for k, v in data.items()}


class Settings(BaseSettings):
    # env_ignore_empty: a variable set to "" counts as unset (a blank field of a config template, e.g. an optional
    # key of the MCP bundle left empty, must not become an empty credential)
    model_config = SettingsConfigDict(env_prefix="PM_MCP_", extra="ignore", case_sensitive=False, env_ignore_empty=True)

    home: Path = Field(default_factory=default_home, description="Data directory (SQLite file lives here).")
    mode: Literal["paper", "live"] = "paper"
    venues: str = ",".join(KNOWN_VENUES)
    log_level: str = "WARNING"

    # venue base URLs
    polymarket_gamma_url: str = PRODUCTION_URLS["polymarket_gamma_url"]
    polymarket_clob_url: str = PRODUCTION_URLS["polymarket_clob_url"]
    polymarket_data_url: str = PRODUCTION_URLS["polymarket_data_url"]
    kalshi_url: str = PRODUCTION_URLS["kalshi_url"]
    manifold_url: str = PRODUCTION_URLS["manifold_url"]
    http_timeout_s: float = 10.0
    catalog_ttl_s: int = 300

    # risk policy (configuration only)
    bankroll: Decimal = Decimal("1000")
    max_order_usd: Decimal = Decimal("100")
    max_event_fraction: Decimal = Decimal("0.15")
    max_daily_usd: Decimal = Decimal("500")
    kelly_fraction: Decimal = Decimal("0.25")
    # Manifold's mana is play money: its caps are its own, in mana (the single-event fraction is shared)
    mana_bankroll: Decimal = Decimal("1000")
    mana_max_order: Decimal = Decimal("100")
    mana_max_daily: Decimal = Decimal("500")

    # confirmation
    confirm: Literal["auto", "elicitation", "page", "host"] = "auto"
    open_browser: bool = False
    intent_ttl_s: int = 300
    approval_port: int = 0  # 0 = pick a free loopback port
    # the one background runner: resting paper orders matched, open orders refreshed at the venue, resolved
    # markets settled, every this many seconds (reads never do it as a side effect)
    sync_interval_s: float = Field(5.0, ge=0.2, le=3600)
    # the same runner checks the watches every this many seconds (pm_mcp.execution.watches)
    watch_interval_s: float = Field(15.0, ge=0.2, le=3600)
    # optional: every alert POSTed here as JSON, signed with HMAC-SHA256 of the secret (pm_mcp.execution.webhook)
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None

    # HTTP transport
    http_token: SecretStr | None = None
    # replicas of `serve --http` behind a load balancer (pm_mcp.http_serve): the keys every replica seals and opens
    # the request state of multi-step calls (dialogs) with, comma-separated, each at least 32 characters, the first
    # one sealing (rotation: "old,new", then "new,old", then "new"); unset = a key of this process's own
    state_keys: SecretStr | None = None
    # the URL people reach the service at (http(s)://host[:port], no path): approval links are built on it, and
    # with it set the approval page is served by `serve --http` itself at <public_url>/i/<token>
    public_url: str | None = None
    # the Host header values the HTTP transport accepts, comma-separated ("mcp.example.org", "10.0.0.5:8765",
    # "host:*" for any port); unset = the public URL's host (when set), else loopback names on a loopback bind
    allowed_hosts: str = ""
    # OAuth 2.1 resource server for `serve --http` (pm_mcp.auth): set the issuer to switch it on. Access tokens are
    # JWTs from that issuer (its `iss`, exactly), for the audience (default <public_url>/mcp, the MCP endpoint's
    # URL), checked against the issuer's keys (default: the jwks_uri of its /.well-known metadata)
    auth_issuer: str | None = None
    auth_audience: str | None = None
    auth_jwks_url: str | None = None
    # the approval page signs people in at the issuer (authorization code + PKCE) as this public client
    auth_page_client_id: str | None = None
    # with OAuth on, PM_MCP_CONFIRM=host is refused unless the operator sets this (the host's prompt is not the
    # person's own sign-in)
    allow_host_confirm: bool = False

    # the store: unset = the embedded SQLite file in PM_MCP_HOME; a postgresql:// URL = that PostgreSQL database,
    # shared by every process given it (pm_mcp.store_pg; the optional extra pm-mcp[postgres]). The market catalog,
    # a per-process cache, stays in the local SQLite file either way.
    database_url: SecretStr | None = None

    # live credentials (env or files; never tool arguments)
    polymarket_private_key: SecretStr | None = None
    polymarket_private_key_file: Path | None = None
    polymarket_api_key: SecretStr | None = None
    polymarket_api_secret: SecretStr | None = None
    polymarket_api_passphrase: SecretStr | None = None
    polymarket_funder: str | None = None
    polymarket_signature_type: int = 0
    polymarket_chain_id: int = 137
    kalshi_key_id: str | None = None
    kalshi_private_key: SecretStr | None = None
    kalshi_private_key_file: Path | None = None
    kalshi_env: Literal["prod", "demo"] = "prod"
    manifold_api_key: SecretStr | None = None

    # ERC-8004
    rpc_urls: str = ""
    erc8004_identity: str | None = None
    erc8004_reputation: str | None = None
    erc8004_validation: str | None = None
    ipfs_gateway: str = "https://ipfs.io/ipfs/"

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings):
        return (init_settings, env_settings, _TomlSource(settings_cls))

    @field_validator("bankroll", "max_order_usd", "max_daily_usd", "mana_bankroll", "mana_max_order",
                     "mana_max_daily")
    @classmethod
    def _positive(cls, v: Decimal) -> Decimal:
        if v <= 0:
            raise ValueError("must be a positive amount (USD, or mana for the mana_* settings)")
        return v

    @field_validator("max_event_fraction", "kelly_fraction")
    @classmethod
    def _fraction(cls, v: Decimal) -> Decimal:
        if not (Decimal(0) < v <= Decimal(1)):
            raise ValueError("must be a fraction in (0, 1]")
        return v

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and v.get_secret_value().partition("://")[0].lower() not in ("postgresql", "postgres"):
            raise ValueError("must be a postgresql:// URL (postgresql://user:password@host:5432/dbname); unset it "
                             "to use the embedded SQLite database")
        return v

    @field_validator("state_keys")
    @classmethod
    def _state_keys(cls, v: SecretStr | None) -> SecretStr | None:
        if v is None:
            return v
        keys = [k.strip() for k in v.get_secret_value().split(",")]
        if not any(keys):
            return None
        if any(len(k) < 32 for k in keys):
            raise ValueError("must be one or more keys separated by commas, each at least 32 characters of secret "
                             "randomness (python3 -c 'import secrets; print(secrets.token_hex(32))'); one of them "
                             "is shorter or empty")
        if len(set(keys)) != len(keys):
            raise ValueError("must not name the same key twice")
        return SecretStr(",".join(keys))

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        parts = urllib.parse.urlsplit(v.strip())
        try:
            parts.port  # noqa: B018 - raises on a bad port
        except ValueError:
            parts = parts._replace(netloc="")
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") \
                or parts.query or parts.fragment or parts.username or parts.password:
            raise ValueError("must be an http:// or https:// URL with a host and no path, query or user, such as "
                             "https://pm.example.org or http://127.0.0.1:8080")
        return f"{parts.scheme}://{parts.netloc.lower()}"

    @field_validator(*_CHECKED_TEXT)
    @classmethod
    def _checked_text(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is None or not v.strip():
            return None
        ok, allowed = _CHECKED_TEXT[info.field_name]
        if not ok(v.strip()):
            raise ValueError(allowed)
        return v.strip()

    @field_validator("allowed_hosts")
    @classmethod
    def _allowed_hosts(cls, v: str) -> str:
        hosts = [h.strip().lower() for h in v.split(",") if h.strip()]
        bad = [h for h in hosts if "/" in h or "@" in h or " " in h or h.startswith(":")]
        if bad:
            raise ValueError("must be Host header values separated by commas (host, host:port or host:*), "
                             "without scheme or path")
        return ",".join(hosts)

    @field_validator("venues")
    @classmethod
    def _venues(cls, v: str) -> str:
        names = [x.strip().lower() for x in v.split(",") if x.strip()]
        unknown = [n for n in names if n not in KNOWN_VENUES]
        if unknown:
            raise ValueError(f"must name venues from {', '.join(KNOWN_VENUES)}, separated by commas; unknown: "
                             f"{', '.join(unknown)}")
        return ",".join(names)

    # --- derived -------------------------------------------------------------------------
    @property
    def enabled_venues(self) -> list[str]:
        return [x for x in self.venues.split(",") if x]

    @property
    def allowed_host_list(self) -> list[str]:
        return [h for h in self.allowed_hosts.split(",") if h]

    @property
    def state_key_list(self) -> list[str]:
        return self.state_keys.get_secret_value().split(",") if self.state_keys is not None else []

    @property
    def oauth(self) -> bool:
        """OAuth on: `serve --http` is a resource server for PM_MCP_AUTH_ISSUER's access tokens."""
        return self.auth_issuer is not None

    @property
    def mcp_resource_url(self) -> str | None:
        """This server's MCP endpoint as OAuth names it (the protected resource): <public_url>/mcp."""
        return f"{self.public_url}/mcp" if self.public_url else None

    @property
    def effective_auth_audience(self) -> str | None:
        return self.auth_audience or self.mcp_resource_url

    @property
    def db_path(self) -> Path:
        return self.home / "pm_mcp.sqlite3"

    def rpc_url_map(self) -> dict[int, str]:
        """Parse PM_MCP_RPC_URLS="chainId=url,chainId=url"."""
        out: dict[int, str] = {}
        for part in self.rpc_urls.split(","):
            part = part.strip()
            if not part:
                continue
            if "=" not in part:
                raise ValueError(f"PM_MCP_RPC_URLS entry {part!r} must look like chainId=url")
            cid, url = part.split("=", 1)
            out[int(cid.strip())] = url.strip()
        return out

    def secret_values(self) -> list[str]:
        """Every configured secret value (for log redaction; never print the result): venue keys and
        credentials (from env or their files), the HTTP token, and the key-like parts of the RPC URLs."""
        from pm_mcp.redaction import url_secret_parts

        def read(value: SecretStr | None, file: Path | None) -> str | None:
            try:
                return self.secret_from(value, file)
            except (OSError, ValueError):  # unreadable: reported where it is used
                return None

        out = [read(self.polymarket_private_key, self.polymarket_private_key_file),
               read(self.kalshi_private_key, self.kalshi_private_key_file)]
        for v in (self.polymarket_api_key, self.polymarket_api_secret, self.polymarket_api_passphrase,
                  self.manifold_api_key, self.http_token, self.webhook_secret):
            out.append(v.get_secret_value() if v is not None else None)
        pem = out[1] or ""
        out += [line for line in pem.splitlines() if len(line) >= 40 and "-----" not in line]
        try:
            urls = list(self.rpc_url_map().values())
        except ValueError:
            urls = [part.split("=", 1)[-1] for part in self.rpc_urls.split(",") if part.strip()]
        for url in urls:
            out += url_secret_parts(url)
        if self.state_keys is not None:  # every request-state key
            out += self.state_keys.get_secret_value().split(",")
        if self.database_url is not None:  # the database password, if the URL has one
            out.append(urllib.parse.urlsplit(self.database_url.get_secret_value()).password)
        return [v for v in out if v]

    def secret_from(self, value: SecretStr | None, file: Path | None) -> str | None:
        """A secret from its env var or, failing that, from its file. Never log the result."""
        if value is not None and value.get_secret_value():
            return value.get_secret_value()
        if file is not None:
            p = Path(file).expanduser()
            if p.is_file():
                return p.read_text(encoding="utf-8").strip()
        return None


def load_settings() -> Settings:
    return Settings()


# --- configuration errors, as a person reads them -----------------------------------------------
# "PM_MCP_MODE must be paper or live, got 'liev'": the variable (or config.toml key) that was set, the
# value, and what is allowed; never pydantic's field names, error codes or links. Secret values are
# never repeated.

def _words(options: list[str]) -> str:
    return options[0] if len(options) == 1 else f"{', '.join(options[:-1])} or {options[-1]}"


def _allowed_values(field: str) -> list[str]:
    from typing import get_args, get_origin

    info = Settings.model_fields.get(field)
    if info is None:
        return []
    kinds = [info.annotation]
    while kinds:
        kind = kinds.pop()
        if get_origin(kind) is Literal:
            return [str(v) for v in get_args(kind)]
        kinds.extend(get_args(kind))
    return []


def _is_secret(field: str) -> bool:
    info = Settings.model_fields.get(field)
    return info is not None and "SecretStr" in str(info.annotation)


def setting_name(field: str) -> str:
    """Where a setting was given: its environment variable when one is set, otherwise its config.toml key
    (named with the file), otherwise the environment variable a person would set."""
    env = f"PM_MCP_{field.upper()}"
    if any(k.upper() == env for k in os.environ):
        return env
    path = default_home() / "config.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, tomllib.TOMLDecodeError):
        data = {}
    table = data.get("pm_mcp") if isinstance(data.get("pm_mcp"), dict) else {}
    if any(str(k).lower() == field for k in (*data, *table)):
        return f"{field} in {path}"
    return env


def _problem(err: dict[str, Any], field: str) -> str:
    allowed = _allowed_values(field)
    if allowed:
        return f"must be {_words(allowed)}"
    msg = str(err.get("msg", "is not valid"))
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    if msg.startswith("Input should be "):
        msg = "must be " + msg.removeprefix("Input should be ")
    return msg


def describe_config_error(exc: Exception) -> list[str]:
    """One line per problem of a failed ``load_settings()``: the setting's name, what is wrong, the value."""
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return [str(exc)]
    lines = []
    for err in errors():
        loc = err.get("loc") or ()
        field = str(loc[0]) if loc else ""
        name = setting_name(field) if field else "the configuration"
        got = "" if _is_secret(field) or "input" not in err or isinstance(err["input"], dict) \
            else f", got {str(err['input'])!r}"
        problem = _problem(err, field)
        lines.append(f"{name} {problem}{got}" if problem.startswith("must ") else f"{name}: {problem}{got}")
    return lines or [str(exc)]
