"""python-telegram-bot, imported without the Telegram Passport decryption nhacviec never asks for.

When `cryptography` is installed, PTB imports it at its own import, for two optional features: a
bot's private key for Telegram Passport data (`Bot(private_key=...)`) and the decryption of that
data (`telegram._passport.credentials`); without it, PTB marks both unavailable and everything else
works the same. nhacviec asks for no Passport data, and `cryptography` (a dependency for the Zalo
Official Account's token box, `storage.secret_box`) costs a bot that only serves chat about 8 MB
resident, most of it its Rust extension mapped in (2 MB anonymous). `load` imports PTB with `cryptography` hidden
for that moment only: whatever imports `cryptography` afterwards gets it as usual.
"""

from __future__ import annotations

import sys

_HIDDEN = "cryptography"


def load() -> None:
    """Import PTB, unless something already has (then it stays as that import left it)."""
    if "telegram" in sys.modules or _HIDDEN in sys.modules:
        return
    # A None entry in sys.modules makes `import cryptography…` raise ImportError, which PTB takes
    # as "not installed".
    sys.modules[_HIDDEN] = None
    try:
        import telegram  # noqa: F401
    finally:
        del sys.modules[_HIDDEN]
