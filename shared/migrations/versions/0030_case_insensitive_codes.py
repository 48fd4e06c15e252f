"""Unique codes and names compare case-insensitively on SQLite too (COLLATE NOCASE)

Usernames, SKU codes and barcodes, warehouse and supplier codes and category names: MariaDB and
MySQL compare them without regard to case by the database's ``*_ci`` collation, so ``Alice``
and ``alice`` were one user there and two on SQLite. On SQLite the columns are rebuilt with
``COLLATE NOCASE`` (batch mode: copy, drop, rename; ``migrate.upgrade`` runs SQLite migrations
with foreign keys off and checks them before committing). Nothing changes on MariaDB/MySQL.
A database holding two values equal but for case cannot take the new unique index: the
upgrade stops there, naming the index, and the duplicate must be renamed first.

Revision ID: 0030
Revises: 0025
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = '0030'
down_revision = '0025'
branch_labels = None
depends_on = None

COLUMNS = {  # table -> (column, length, nullable)
    "users": [("username", 64, False)],
    "skus": [("code", 64, False), ("barcode", 64, True)],
    "warehouses": [("code", 32, False)],
    "suppliers": [("code", 32, False)],
    "categories": [("name", 100, False)],
}


def _retype(collation: str | None) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return  # MariaDB/MySQL: the database's case-insensitive collation already applies
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table, recreate="always") as batch:
            for name, length, nullable in columns:
                batch.alter_column(name, existing_type=sa.String(length), existing_nullable=nullable,
                                   type_=sa.String(length, collation=collation))


def upgrade() -> None:
    _retype("NOCASE")


def downgrade() -> None:
    _retype(None)
