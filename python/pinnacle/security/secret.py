"""Secret values that do not leak through ``repr``, ``str``, f-strings or logging.

A :class:`Secret` holds its UTF-8 bytes in a ``bytearray`` that :meth:`Secret.wipe`
overwrites with zeros. What Python cannot guarantee: the immutable ``str``/``bytes``
copies made on the way in (the caller's argument, the decrypted vault plaintext, the
JSON decoder's strings) and every value :meth:`Secret.reveal` returns live until the
garbage collector frees them, and their memory is not zeroed; the interpreter may also
swap them to disk. Wiping narrows the window, it does not close it.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator, Mapping
from typing import NoReturn

from pinnacle.errors import InvalidArgumentError, VaultError

MASK = "***"


class Secret:
    """A secret string: ``repr``/``str``/``format`` show ``***``; :meth:`reveal` gives it."""

    __slots__ = ("__weakref__", "_buf", "_closed_vault")

    _buf: bytearray | None
    _closed_vault: str | None

    def __init__(self, value: str | bytes | bytearray) -> None:
        self._closed_vault = None
        if isinstance(value, str):
            self._buf = bytearray(value.encode("utf-8"))
        elif isinstance(value, (bytes, bytearray)):
            try:
                bytes(value).decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidArgumentError("a secret must be valid UTF-8 text") from None
            self._buf = bytearray(value)
        else:
            raise InvalidArgumentError(f"a secret must be a str, not {type(value).__name__}")

    def reveal(self) -> str:
        """The secret's value. Raises VaultError once the vault it came from was
        closed, ValueError once it was wiped otherwise."""
        if self._buf is None:
            if self._closed_vault is not None:
                e = VaultError(f"{self._closed_vault}: vault closed; this secret was wiped with it")
                e.path = self._closed_vault
                raise e
            raise ValueError("this secret was wiped")
        return self._buf.decode("utf-8")

    @property
    def wiped(self) -> bool:
        """True after :meth:`wipe`."""
        return self._buf is None

    def wipe(self) -> None:
        """Overwrites the held bytes with zeros and forgets them. Idempotent."""
        buf = self._buf
        if buf:
            buf[:] = bytes(len(buf))
        self._buf = None

    def _wipe_closed(self, vault: str) -> None:
        """Wipes the value because ``vault`` was closed (reveal() then names it)."""
        self.wipe()
        self._closed_vault = vault

    def __repr__(self) -> str:
        return f"Secret({MASK})"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret) or self._buf is None or other._buf is None:
            return NotImplemented
        return hmac.compare_digest(bytes(self._buf), bytes(other._buf))

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled (it would leave the process in clear)")


class Credentials(Mapping[str, Secret]):
    """The fields of one vault entry (``api_key``, ``api_secret``...), each a
    :class:`Secret`, readable as attributes (``creds.api_key.reveal()``) or keys. Its
    ``repr`` names the fields and masks every value."""

    __slots__ = ("_fields", "name")

    def __init__(self, name: str, fields: Mapping[str, Secret]) -> None:
        self.name = name
        self._fields = dict(fields)

    def __getattr__(self, field: str) -> Secret:
        if field.startswith("_"):
            raise AttributeError(field)
        try:
            return self._fields[field]
        except KeyError:
            raise AttributeError(f"credentials {self.name!r} have no field {field!r}") from None

    def __getitem__(self, field: str) -> Secret:
        return self._fields[field]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def wipe(self) -> None:
        """Wipes every field."""
        for s in self._fields.values():
            s.wipe()

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={MASK}" for k in self._fields)
        return f"Credentials({self.name!r}, {inner})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("Credentials cannot be pickled (they would leave the process in clear)")


__all__ = ["MASK", "Credentials", "Secret"]
