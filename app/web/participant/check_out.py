"""The closing circle's check-out on a participant's phone: one question, one answer."""

from fastapi import Depends
from fastapi.responses import Response
from starlette.datastructures import FormData

from app.models.live import CHECKOUT_WORDS_MAX, USEFULNESS, CheckOutForm
from app.services import check_out
from app.templating import render
from app.web.kit.common import see_other
from app.web.kit.deps import FormDep, verify_csrf
from app.web.kit.forms import FormErrors, form_values, valid
from app.web.kit.limits import rate_limited
from app.web.kit.routing import Router
from app.web.participant.attendee import Attendee, AttendeeDep

router = Router(
    prefix="/e/{code}",
    dependencies=[Depends(verify_csrf), Depends(rate_limited)],
)


def _page(
    me: Attendee,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    error: str = "",
    status_code: int = 200,
) -> Response:
    return render(
        me.request,
        "participant/check_out.html",
        {
            "event": me.event,
            "participant": me.participant,
            "answered": check_out.has_answered(me.session, me.event, me.participant),
            "marks": list(USEFULNESS),
            "words_max": CHECKOUT_WORDS_MAX,
            "values": values or {},
            "errors": errors or {},
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/check-out")
def check_out_page(me: AttendeeDep) -> Response:
    return _page(me)


def _values(form: FormData) -> dict[str, str]:
    values = form_values(form, "words", "usefulness")
    values["named"] = "1" if form.get("named") == "1" else ""
    return values


def _again(
    me: Attendee, form: FormData, errors: FormErrors, error: str, status_code: int
) -> Response:
    """A refused answer: the page again, the words kept, the reason by its field."""
    return _page(me, _values(form), errors, "" if errors else error, status_code)


@router.post("/check-out", again=_again)
def answer_check_out(me: AttendeeDep, form: FormDep) -> Response:
    data = valid(CheckOutForm, form, "words", "usefulness", named=_values(form)["named"])
    data.named = form.get("named") == "1"
    check_out.check_out(me.session, me.event, me.participant, data)
    return see_other(f"{me.home}/check-out?thanks=1")
