"""The stock ledger records what caused each move (origin_type, origin_id: an order line, a PO line)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('stock_ledger') as batch:
        batch.add_column(sa.Column('origin_type', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('origin_id', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('stock_ledger') as batch:
        batch.drop_column('origin_id')
        batch.drop_column('origin_type')
