"""The page a browser sees when it opens an unsubscribe link (the RFC 8058 POST needs no page)."""

from __future__ import annotations

from entremise.privacy.pages import language, template

_CHANNELS = {
    "fr": {"email": "par e-mail", "sms": "par SMS", "phone": "par téléphone"},
    "en": {"email": "by e-mail", "sms": "by text message", "phone": "by phone"},
}
_TEXTS = {
    "fr": {
        "title": "Désinscription",
        "ask": "Ne plus recevoir d'offres commerciales {channel} ?",
        "confirm": "Me désinscrire",
        "done": "C'est fait : vous ne recevrez plus d'offres commerciales {channel}, dès maintenant.",
        "already": "Vous ne recevez pas d'offres commerciales {channel}.",
        "change": "Vous pouvez changer d'avis à tout moment dans les réglages de votre compte.",
    },
    "en": {
        "title": "Unsubscribe",
        "ask": "Stop receiving marketing {channel}?",
        "confirm": "Unsubscribe me",
        "done": "Done: you will receive no more marketing {channel}, starting now.",
        "already": "You do not receive marketing {channel}.",
        "change": "You can change your mind at any time in your account settings.",
    },
}


def render_unsubscribe_page(
    *, platform_name: str, channel: str, subscribed: bool, done: bool, locale: str
) -> str:
    lang = language(locale)
    how = _CHANNELS[lang].get(channel, channel)
    texts = {k: v.format(channel=how) for k, v in _TEXTS[lang].items()}
    return template("unsubscribe.html.j2").render(
        t=texts, platform_name=platform_name, subscribed=subscribed, done=done, locale=lang
    )
