"""Read models built from the shipment events."""
