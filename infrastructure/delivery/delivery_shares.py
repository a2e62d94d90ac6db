"""How many subscriptions one deliverer takes when several are alive: its fair share.

A lease says which process delivers a subscription, never how many one process
takes, so the first deliverer up used to take them all and the others stood by:
two servers on one store delivered from one event loop on one core, however many
cores they had. Each deliverer now counts its live peers of the same scope (the
same ``--schemes``) and takes at most ``ceil(subscriptions / peers)``; one that
holds more, because a peer came up, hands the newest over (its position committed
first, so nothing is sent twice in the normal case).

The shares of all peers always add up to at least the subscriptions, so none is
left undelivered while the peers agree on their number, and while they do not
(one has just come or gone) each keeps delivering what it holds. A peer that
died stops counting when its presence runs out, as its leases do.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID


def fair_share(subscriptions: int, peers: int) -> int:
    """The most subscriptions one of ``peers`` live deliverers takes of ``subscriptions``."""
    return -(-subscriptions // max(1, peers))


def handed_over(held: Sequence[UUID], share: int) -> list[UUID]:
    """Which of the subscriptions held (in the order taken) to hand over: the last taken."""
    return list(held[max(0, share) :])
