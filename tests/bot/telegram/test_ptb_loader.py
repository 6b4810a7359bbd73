"""PTB imported for the bot (bot.transports.telegram.ptb_loader): without `cryptography`, which stays
available to what needs it afterwards."""

from __future__ import annotations

from tests.probes import run_python


def test_ptb_loaded_for_the_bot_leaves_cryptography_unloaded_and_still_importable_after():
    probe = (
        "import sys; from bot.transports.telegram import ptb_loader; ptb_loader.load(); "
        "loaded = sorted(m for m in ('telegram', 'cryptography') if m in sys.modules); "
        "from cryptography.fernet import Fernet; from storage.secret_box import SecretBox; "
        "box = SecretBox([Fernet.generate_key().decode()]); "
        "print(loaded, box.open(box.seal('zalo token')))"
    )

    expected = "['telegram'] zalo token"
    assert run_python(probe) == expected


def test_ptb_already_imported_is_left_as_it_was():
    probe = (
        "import sys, telegram; from bot.transports.telegram import ptb_loader; ptb_loader.load(); "
        "print('cryptography' in sys.modules)"
    )

    # Installed beside it, PTB took cryptography at its own import; load() undoes nothing.
    assert run_python(probe) == "True"
