"""Catalog: categories, items (SPUs) and their SKUs, prices and price history."""
