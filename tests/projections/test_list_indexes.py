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
