"""Sales: orders, their reservations, payments, shipments, returns and refunds."""
