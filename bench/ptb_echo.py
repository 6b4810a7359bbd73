"""The peer the footprint and throughput benchmarks compare nhacviec with: the smallest useful
python-telegram-bot application, polling and echoing each text message back.

    python bench/ptb_echo.py API_BASE_URL            (token in TELEGRAM_BOT_TOKEN)
"""

from __future__ import annotations

import os
import sys

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text(update.effective_message.text)


def main() -> None:
    application = (
        Application.builder()
        .token(os.environ["TELEGRAM_BOT_TOKEN"])
        .base_url(sys.argv[1])
        .concurrent_updates(16)
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT, echo))
    application.run_polling(poll_interval=0, timeout=10, drop_pending_updates=False)


if __name__ == "__main__":
    main()
