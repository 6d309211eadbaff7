"""What the HTTP layer serves from: the data directory's PKI, CAs and TSA."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ledger.application import Ledger, Settings
from ledger.checkpoints import Checkpointer
from signing.ca import CertificateAuthority
from signing.keys import resolve_passphrase
from signing.pki import CA_NAMES, DemoPKI
from signing.tsa import TimeStampAuthority, load_demo_tsa

if TYPE_CHECKING:
    from api.accounts import AccountStore
    from api.ratelimit import RateLimiter
    from projections.views import Views

#: Largest OCSP or timestamp request accepted (both are a few hundred bytes).
SMALL_REQUEST_LIMIT = 64 * 1024
#: How long a signed CRL is reused before a new one is made.
CRL_CACHE_SECONDS = 60.0


@dataclass
class Services:
    """Loaded once per server process; safe to share between requests."""

    settings: Settings
    pki: DemoPKI
    request_limit: int = SMALL_REQUEST_LIMIT
    _authorities: dict[str, CertificateAuthority] = field(default_factory=dict)
    _crls: dict[str, tuple[float, bytes]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    tsa: TimeStampAuthority | None = None
    _ledger: Any = None
    _checkpointer: Any = None
    _accounts: Any = None
    _views: Any = None
    _limiter: Any = None

    @classmethod
    def load(cls, settings: Settings) -> Services:
        passphrase = resolve_passphrase(settings.data_dir, create=False)
        pki = DemoPKI.load(Path(settings.data_dir) / "pki", passphrase)
        tsa_dir = Path(settings.data_dir) / "pki" / "tsa"
        tsa = None
        if (tsa_dir / "cert.pem").is_file():
            # Tokens embed the chain up to (not including) the root.
            tsa = load_demo_tsa(tsa_dir, passphrase, [pki.so])
        return cls(settings, pki, tsa=tsa)

    def authority(self, name: str) -> CertificateAuthority:
        if name not in CA_NAMES:
            raise KeyError(name)
        with self._lock:
            ca = self._authorities.get(name)
            if ca is None:
                ca = self._authorities[name] = self.pki.authority(name)
            return ca

    def crl(self, name: str) -> bytes:
        """The CA's current CRL, re-signed at most every :data:`CRL_CACHE_SECONDS`."""
        now = time.monotonic()
        with self._lock:
            cached = self._crls.get(name)
            if cached is not None and now - cached[0] < CRL_CACHE_SECONDS:
                return cached[1]
        der = self.authority(name).crl(datetime.now(UTC))
        with self._lock:
            self._crls[name] = (now, der)
        return der

    def forget_crls(self) -> None:
        """Drop cached CRLs (after a revocation in this process)."""
        with self._lock:
            self._crls.clear()

    def ledger(self) -> Ledger:
        """The ledger of this data directory (opened on first use, shared)."""
        with self._lock:
            if self._ledger is None:
                from api.trust import load_trust

                self._ledger = Ledger(self.settings, load_trust(self.settings.data_dir, self.pki))
            return cast(Ledger, self._ledger)

    def checkpointer(self) -> Checkpointer:
        """The log's checkpointer (opened on first use, shared; it serialises itself)."""
        ledger = self.ledger()
        with self._lock:
            if self._checkpointer is None:
                from api.logctl import open_checkpointer

                self._checkpointer = open_checkpointer(
                    Path(self.settings.data_dir), ledger, self.pki.passphrase
                )
            return cast(Checkpointer, self._checkpointer)

    def config(self) -> dict[str, Any]:
        """``socai.json`` of the data directory (empty when there is none)."""
        import json

        path = Path(self.settings.data_dir) / "socai.json"
        try:
            loaded = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        return loaded if isinstance(loaded, dict) else {}

    def accounts(self) -> AccountStore:
        """The account store (opened on first use, shared)."""
        with self._lock:
            if self._accounts is None:
                from api.accounts import open_accounts

                self._accounts = open_accounts(self.settings)
            return cast("AccountStore", self._accounts)

    def views(self) -> Views:
        """The read models of this ledger (opened on first use, shared; not caught up here)."""
        with self._lock:
            if self._views is None:
                from projections.views import open_views

                self._views = open_views(self.settings)
            return cast("Views", self._views)

    def limiter(self) -> RateLimiter:
        """This process's rate limiter, with the limits of ``socai.json``."""
        with self._lock:
            if self._limiter is None:
                from api.ratelimit import RateLimiter

                limits = self.config().get("rate_limits", {})
                self._limiter = RateLimiter(
                    {str(k): (int(v[0]), float(v[1])) for k, v in limits.items()}
                )
            return cast("RateLimiter", self._limiter)

    def close(self) -> None:
        with self._lock:
            if self._views is not None:
                self._views.close()
                self._views = None
            if self._accounts is not None:
                self._accounts.close()
                self._accounts = None
            for ca in self._authorities.values():
                ca.close()
            self._authorities.clear()
            if self._ledger is not None:
                self._ledger.close()
                self._ledger = None
