"""Domain-free helpers: time, ids, hashing and encryption. Never imports a domain."""
