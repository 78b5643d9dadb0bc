"""Console staff: accounts, roles and sign-in (the people who run rujai, not its customers)."""
