"""What flows between a transport and the core: one model in, reply models out."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Button:
    label: str
    # Opaque to transports. The core keys it server-side so a forged value cannot act for anyone else.
    data: str


@dataclass(frozen=True)
class Document:
    filename: str
    content: bytes
    mime_type: str
    caption: str = ""


@dataclass(frozen=True)
class Image:
    filename: str
    content: bytes
    caption: str = ""


@dataclass(frozen=True)
class ContactRequest:
    """Offer the person a way to share their own phone number with one tap, where the platform has
    one (Telegram's contact button, in private chats), beside a way to decline."""

    share: str  # the label of the button that shares the number
    skip: str  # the label of the button that declines (it sends this text as typed)


@dataclass
class Reply:
    """A message the core wants shown. Text is plain (transports escape it for their markup)."""

    text: str
    buttons: list[list[Button]] = field(default_factory=list)  # rows of buttons
    documents: list[Document] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)
    # When set, the transport should send this reply to another chat (e.g. a coordinator being
    # asked to approve a registration) instead of the chat the incoming message came from.
    to_platform: str | None = None
    to_chat_id: str | None = None
    # The reply asks the person something they answer by typing (a step of a flow): in a group, a
    # transport can open a reply to it for them (Telegram's ForceReply), which also lets the answer
    # through a bot's privacy mode.
    awaits_answer: bool = False
    # Ask for the person's phone number with the platform's own button (others just read the text).
    contact_request: ContactRequest | None = None
    # Take away a keyboard a contact request left under the text box.
    close_keyboard: bool = False
    # Lines that must stay together when a transport splits long text (a table row, say) are
    # simply one line; transports split only at line boundaries.


@dataclass(frozen=True)
class Attachment:
    """A file the user sent along (evidence for an update)."""

    file_id: str
    filename: str | None = None
    mime_type: str | None = None
    size: int | None = None


@dataclass(frozen=True)
class SharedContact:
    """A phone number shared with the platform's contact button."""

    phone: str
    own: bool  # the contact is the sender's own (Telegram: contact.user_id == from.id)


@dataclass(frozen=True)
class Incoming:
    """One thing a user did, as the core sees it, whatever platform it came from."""

    platform: str  # telegram | zalo | zalo_oa | console
    chat_id: str
    user_id: str
    user_name: str = ""
    text: str = ""
    # Set when the user tapped a button (or answered a numbered choice that maps to one).
    callback_data: str | None = None
    message_id: str | None = None
    # A key unique per platform update, so a re-delivered update is recognised (Telegram update_id).
    update_key: str | None = None
    edited: bool = False  # the user edited an earlier message (message_id names it)
    is_group: bool = False
    attachment: Attachment | None = None
    contact: SharedContact | None = None
    language_hint: str | None = None  # the platform's idea of the user's language, e.g. "en"
    # What the platform lets the person do, declared by its transport, so that the core never
    # suggests something they cannot: edit a sent message, send a file (pictures aside).
    can_edit: bool = True
    can_send_files: bool = True
