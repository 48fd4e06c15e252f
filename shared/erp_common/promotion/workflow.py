"""The coupon workflow: issued -> claimed -> used, or expired; a used coupon is given back
(claimed again) when its order is cancelled or returned and its template says so."""
from __future__ import annotations

from ..workflow import Transition, Workflow
from .models import CLAIMED, COUPON_STATUSES, EXPIRED, ISSUED, USED

COUPON_WORKFLOW = Workflow("coupon", COUPON_STATUSES, [
    Transition("claim", (ISSUED,), (CLAIMED,)),
    Transition("use", (CLAIMED,), (USED,)),
    Transition("give_back", (USED,), (CLAIMED,)),
    Transition("expire", (ISSUED, CLAIMED), (EXPIRED,)),
])
