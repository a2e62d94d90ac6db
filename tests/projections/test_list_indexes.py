"""Every list query walks an index in sort order (SQLite's plan is deterministic without data).

PostgreSQL's planner chooses by table statistics; ``bench/projections.py --explain``
shows its plans on 100,000 shipments.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from api.wiring import Services
from projections.shipment_list import (
    SQLITE_LIST,
    ListFilters,
    ListPosition,
    ListQuery,
    SortOrder,
    list_statement,
)

FILTERS = {
    "none": ListFilters(),
    "status": ListFilters(status="DRAFT"),
    "shipmentType": ListFilters(shipment_type="HHG"),
    "destinationState": ListFilters(destination_state="CA"),
    "deliveryDateFrom": ListFilters(delivery_date_from=date(2024, 1, 1)),
    "deliveryDateTo": ListFilters(delivery_date_to=date(2024, 1, 1)),
    "updatedSince": ListFilters(updated_since=datetime(2024, 1, 1, tzinfo=UTC)),
}


@pytest.mark.parametrize("store_kind", ["sqlite"], indirect=True)
@pytest.mark.parametrize("sort", list(SortOrder))
@pytest.mark.parametrize("name", list(FILTERS))
def test_each_filter_and_sort_seeks_an_index_past_the_cursor_with_no_sort_step(
    services: Services, name: str, sort: SortOrder
) -> None:
    key = datetime(2024, 1, 1, tzinfo=UTC) if sort is SortOrder.UPDATED_AT else date(2024, 1, 1)
    query = ListQuery(FILTERS[name], sort, 50, ListPosition(sort, key, uuid4()))
    sql, params = list_statement(query, SQLITE_LIST)
    with services.view.datastore.transaction(commit=False) as cursor:  # type: ignore[attr-defined]
        cursor.execute("EXPLAIN QUERY PLAN " + sql.format(table=services.view.table), params)
        plan = " | ".join(row["detail"] for row in cursor.fetchall())
    assert plan.startswith("SEARCH") and "USING INDEX" in plan, plan  # a seek, not a scan
    assert "TEMP B-TREE" not in plan, plan  # and no sort of the whole result


@pytest.mark.parametrize(
    ("cursor_day", "bound"),
    [(date(2024, 3, 1), "the range's start"), (date(2024, 3, 4), "the cursor")],
)
def test_a_delivery_date_cursor_and_range_start_write_only_the_stronger_lower_bound(
    cursor_day: date, bound: str
) -> None:
    # Given both, SQLite seeks with one and filters with the other, and may pick the
    # weaker: from a cursor far before the range it walked every entry up to it.
    start = date(2024, 3, 3)
    after = ListPosition(SortOrder.DELIVERY_DATE, cursor_day, uuid4())
    query = ListQuery(ListFilters(delivery_date_from=start), SortOrder.DELIVERY_DATE, 50, after)

    _, params = list_statement(query, SQLITE_LIST)

    lower_bounds = [
        param for param in params if param in (start.isoformat(), cursor_day.isoformat())
    ]
    if bound == "the cursor":
        assert lower_bounds == [cursor_day.isoformat()] * 2 and after.shipment_id.hex in params
    else:
        assert lower_bounds == [start.isoformat()] and after.shipment_id.hex not in params
