"""Web routes, one module per area: ``privacy`` (customers) and ``console`` (staff)."""
