"""A shipment's history for people at a terminal (rich): the history table and replay steps."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from projections.shipment_history import Step

CHANGED_STYLE = "bold yellow"
# Shown in replay, in this order: every public field a user can change, plus status.
STATE_FIELDS = (
    "status",
    "shipmentType",
    "requestedPickupDate",
    "deliveryDate",
    "pickupAddress",
    "destinationAddress",
    "weightLbs",
    "customerRemarks",
)


def plain_value(value: Any) -> str:
    """A public JSON value on one line: addresses as a postal line, null as ``null``."""
    if value is None:
        return "null"
    if isinstance(value, dict) and "streetAddress1" in value:
        street = ", ".join(p for p in (value["streetAddress1"], value.get("streetAddress2")) if p)
        return f"{street}, {value['city']}, {value['state']} {value['postalCode']}"
    return str(value)


def merge_note(step: Step) -> str | None:
    """``merged onto v7, based on v5`` for a merged write's event; None for any other."""
    if step.based_on is None:
        return None
    return f"merged onto v{step.version - 1}, based on v{step.based_on}"


def step_heading(step: Step) -> str:
    """``v3 Revised · 2020-05-02T09:12:44.001200Z · by alice · request 7f3a…``."""
    item = step.history_item()
    note = merge_note(step)
    return (
        f"v{item['version']} {item['type']} · {item['recordedAt']} · by {item['actor']}"
        f" · request {item['requestId'] or '-'}" + (f" · {note}" if note else "")
    )


def history_table(steps: list[Step], title: str) -> Table:
    """One row per event: when, who, and each field it changed (from → to)."""
    table = Table(title=title, show_lines=True)
    for column in ("version", "type", "recorded at"):
        table.add_column(column, no_wrap=True)
    for column in ("actor", "request"):
        table.add_column(column, overflow="fold")
    table.add_column("changes", overflow="fold", ratio=1)
    for step in steps:
        item = step.history_item()
        changes = "\n".join(
            f"{name}: {plain_value(change['from'])} → {plain_value(change['to'])}"
            for name, change in item["changes"].items()
        )
        note = merge_note(step)
        table.add_row(
            str(item["version"]),
            item["type"] + (f"\n{note}" if note else ""),
            item["recordedAt"],
            item["actor"] or "-",
            item["requestId"] or "-",
            changes or "(no field changed)",
        )
    return table


def replay_step(step: Step) -> Group:
    """The event's heading, then the state after it with the fields it changed highlighted."""
    changes = step.changes()
    table = Table(show_header=True, box=None, pad_edge=False)
    table.add_column("field")
    table.add_column("value after", overflow="fold")
    table.add_column("before", overflow="fold")
    for name in STATE_FIELDS:
        value = plain_value(step.after.get(name))
        if name in changes:
            table.add_row(
                Text(f"* {name}", style=CHANGED_STYLE),
                Text(value, style=CHANGED_STYLE),
                Text(plain_value(changes[name]["from"]), style="dim"),
            )
        else:
            table.add_row(f"  {name}", value, "")
    return Group(Rule(step_heading(step), align="left"), table)


def replay_document(shipment_id: str, steps: list[Step]) -> dict[str, Any]:
    """The machine-readable replay: each history item with the full state after it."""
    return {
        "shipmentId": shipment_id,
        "steps": [{**step.history_item(), "state": step.after} for step in steps],
    }
