"""A shipment's history as lines that read at any width, and as JSON.

The table (``history_table``) needs a wide terminal: at 80 columns, or piped
into ``less`` or ``grep``, its ``changes`` column is squeezed to a word a line.
Here each event is a heading line and each field it changed a line of its own,
``name: from → to``, so nothing is squeezed and ``grep weightLbs`` finds it.
"""

from __future__ import annotations

from typing import Any

from api.cli.history_rendering import merge_note, plain_value
from projections.shipment_history import Step

WIDE_ENOUGH_FOR_THE_TABLE = 120  # columns


def history_lines(steps: list[Step], title: str) -> list[str]:
    """``title``, then a heading line per event and an indented line per field it changed."""
    lines = [f"{title}: {len(steps)} event(s), oldest first, times in UTC"]
    for step in steps:
        item = step.history_item()
        note = merge_note(step)
        heading = [
            f"v{item['version']}",
            item["type"],
            item["recordedAt"],
            f"by {item['actor'] or '-'}",
            f"request {item['requestId'] or '-'}",
        ]
        lines.append("  ".join(heading) + (f"  ({note})" if note else ""))
        changes = item["changes"]
        if not changes:
            lines.append("    (no field changed)")
        for name, change in changes.items():
            lines.append(f"    {name}: {plain_value(change['from'])} → {plain_value(change['to'])}")
    return lines


def history_document(shipment_id: str, steps: list[Step]) -> dict[str, Any]:
    """The history items as ``GET /v1/shipments/{id}/history`` gives them, all of them."""
    return {"shipmentId": shipment_id, "items": [step.history_item() for step in steps]}
