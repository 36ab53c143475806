"""All tables, imported so that SQLModel.metadata knows them."""

from app.models.agenda import (
    CoConvener,
    ConvenerElsewhere,
    Interest,
    SeatChange,
    SeatNotice,
    SignUp,
    Topic,
    TopicTheme,
    WaitlistEntry,
)
from app.models.audit import AuditEntry
from app.models.base import metadata
from app.models.carry import CarriedAction
from app.models.event import (
    Event,
    EventStaff,
    FacilitatorLink,
    Role,
    Slot,
    SlotKind,
    Space,
    Theme,
)
from app.models.live import Announcement, CheckOut, Pitch, ProjectorView
from app.models.mail import InboundMail, MailConsent, Message, MessageAttempt, MessageCause
from app.models.outcomes import (
    Action,
    ActionGroup,
    ActionStatus,
    ActionTheme,
    ActionUpdate,
    Attendance,
    Contribution,
    ContributionKind,
    ContributionRevision,
    Dot,
    Pledge,
    Report,
)
from app.models.people import ApiToken, Organiser, Participant
from app.models.privacy import Erasure, EventPrivacy
from app.models.rates import RateCount
from app.models.server import ServerSecret

__all__ = [
    "Action",
    "ActionGroup",
    "ActionStatus",
    "ActionTheme",
    "ActionUpdate",
    "Announcement",
    "ApiToken",
    "Attendance",
    "AuditEntry",
    "CarriedAction",
    "CheckOut",
    "CoConvener",
    "Contribution",
    "ContributionKind",
    "ContributionRevision",
    "ConvenerElsewhere",
    "Dot",
    "Erasure",
    "Event",
    "EventPrivacy",
    "EventStaff",
    "FacilitatorLink",
    "InboundMail",
    "Interest",
    "MailConsent",
    "Message",
    "MessageAttempt",
    "MessageCause",
    "Organiser",
    "Participant",
    "Pitch",
    "Pledge",
    "ProjectorView",
    "RateCount",
    "Report",
    "Role",
    "SeatChange",
    "SeatNotice",
    "ServerSecret",
    "SignUp",
    "Slot",
    "SlotKind",
    "Space",
    "Theme",
    "Topic",
    "TopicTheme",
    "WaitlistEntry",
    "metadata",
]
