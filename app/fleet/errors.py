"""The fleet's refusals, each with the sentence a dispatcher reads."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.core.errors import DomainError


class TripNotEditable(DomainError):
    code = "trip_not_editable"
    message = _l("This trip can no longer be changed.")


class TransitionRefused(DomainError):
    code = "transition_refused"
    message = _l("The trip cannot move to that status.")


class AssignmentConflict(DomainError):
    code = "assignment_conflict"
    message = _l("That bus or driver is already on another trip at that time.")


class SwapRefused(DomainError):
    code = "swap_refused"
    message = _l("That bus cannot replace the current one.")


class RouteInUse(DomainError):
    code = "route_in_use"
    message = _l("Trips with sold seats still use this route's stops.")


class LayoutInUse(DomainError):
    code = "layout_in_use"
    message = _l("Sold seats on coming trips use seats this layout removes.")


class DriverBusy(DomainError):
    """A timetable's driver already drives other trips at some of the times it would create."""

    code = "driver_busy"
    message = _l("The driver is already driving at some of these times.")

    def __init__(self, busy: list, message: str | None = None):
        super().__init__(message)
        self.busy = busy
