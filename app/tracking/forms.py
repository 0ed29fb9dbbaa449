"""Forms of the live maps: how long a passenger shares their trip's bus."""

from __future__ import annotations

import math
from datetime import datetime

from flask_babel import lazy_gettext as _l
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from app.core.forms import Form
from app.fleet.models import Trip
from app.tracking.rules import SHARE_LINK_MAX_HOURS

UNTIL_THE_END = "trip"
# A trip that runs late past its expected arrival still ends within this much.
END_SLACK_HOURS = 2


class ShareForm(Form):
    duration = SelectField(
        _l("Share for"),
        choices=[
            SelectChoice(UNTIL_THE_END, _l("Until the trip ends")),
            SelectChoice("2", _l("%(num)s hours", num=2)),
            SelectChoice("6", _l("%(num)s hours", num=6)),
            SelectChoice("12", _l("%(num)s hours", num=12)),
            SelectChoice("24", _l("%(num)s hours", num=24)),
        ],
        default=UNTIL_THE_END,
    )

    def hours(self, trip: Trip, now: datetime) -> int:
        """The link's lifetime; it also ends when the trip arrives or is cancelled."""
        if self.duration.data != UNTIL_THE_END:
            return int(self.duration.data)
        left = math.ceil((trip.arrives_at - now).total_seconds() / 3600) + END_SLACK_HOURS
        return max(1, min(left, SHARE_LINK_MAX_HOURS))
