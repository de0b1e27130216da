"""pinnacle's security layer: a credential vault, a tamper-evident audit journal, rate
limits that survive restarts.

Needs the ``security`` extra (``pip install 'pinnacle[security]'``: cryptography,
argon2-cffi, pyrage); without it the first cryptographic operation raises
:class:`~pinnacle.errors.MissingDependencyError` naming the extra. See README
"Security" and docs/security.md.
"""

from __future__ import annotations

from pinnacle.errors import AuditError, CredentialNotFoundError, VaultError
from pinnacle.security._audit_record import AUDIT_KIND, Record
from pinnacle.security._audit_verify import AuditProblem, AuditReport
from pinnacle.security._ratelimit_policy import SlidingWindow, TokenBucket
from pinnacle.security._vault_format import KdfParams
from pinnacle.security.audit import AuditLog, verify_file
from pinnacle.security.ratelimit import RateLimiter
from pinnacle.security.secret import Credentials, Secret
from pinnacle.security.vault import CredentialVault

__all__ = [
    "AUDIT_KIND",
    "AuditError",
    "AuditLog",
    "AuditProblem",
    "AuditReport",
    "CredentialNotFoundError",
    "CredentialVault",
    "Credentials",
    "KdfParams",
    "RateLimiter",
    "Record",
    "Secret",
    "SlidingWindow",
    "TokenBucket",
    "VaultError",
    "verify_file",
]
