"""The links a message carries, made with the routes that answer them."""

from functools import partial

from app.config import Settings
from app.security import LinkSigner
from app.services import mail_replies
from app.services.mail import Links
from app.web.participant.mail_choices import choices_link, digest_stop_link, stop_link
from app.web.participant.my_data import privacy_link
from app.web.participant.outcomes import update_link
from app.web.participant.pledge_answer import answer_link
from app.web.public.accounts import password_reset_link, team_invite_link


def mail_links(settings: Settings, signer: LinkSigner) -> Links:
    """Links for the messages of this installation (its public address, its signing key)."""
    return Links(
        base_url=settings.base_url,
        action=partial(update_link, settings, signer),
        choices=partial(choices_link, settings, signer),
        stop=partial(stop_link, settings, signer),
        pledge_answer=partial(answer_link, settings, signer),
        privacy=partial(privacy_link, settings),
        digest_stop=partial(digest_stop_link, settings, signer),
        team_invite=partial(team_invite_link, settings, signer),
        password_reset=partial(password_reset_link, settings, signer),
        reply_to=partial(mail_replies.reply_address, settings, signer),
    )
