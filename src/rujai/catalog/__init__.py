"""Catalog: the products that can be recommended. Owns the item table; holds no personal data."""
