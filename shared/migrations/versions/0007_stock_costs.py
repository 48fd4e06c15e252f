"""Costs: the stock ledger's unit cost per move, each SKU's moving average cost and its history

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
DECIMAL = sa.Numeric(precision=18, scale=4)

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('stock_ledger') as batch:
        batch.add_column(sa.Column('unit_cost', DECIMAL, nullable=True))
        # A return finds the cost its sale went out at by the origin they share.
        batch.create_index('ix_stock_ledger_origin', ['origin_type', 'origin_id'], unique=False)
    op.create_table('sku_costs',
    sa.Column('sku_id', sa.Integer(), nullable=False),
    sa.Column('unit_cost', DECIMAL, nullable=False),
    sa.Column('on_hand', DECIMAL, nullable=False),
    sa.Column('updated_at', TIMESTAMP, nullable=False),
    sa.ForeignKeyConstraint(['sku_id'], ['skus.id'], ),
    sa.PrimaryKeyConstraint('sku_id')
    )
    op.create_table('sku_cost_history',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('sku_id', sa.Integer(), nullable=False),
    sa.Column('unit_cost_before', DECIMAL, nullable=True),
    sa.Column('on_hand_before', DECIMAL, nullable=False),
    sa.Column('qty_in', DECIMAL, nullable=False),
    sa.Column('cost_in', DECIMAL, nullable=False),
    sa.Column('unit_cost', DECIMAL, nullable=False),
    sa.Column('doc_type', sa.String(length=32), nullable=False),
    sa.Column('doc_id', sa.String(length=64), nullable=False),
    sa.Column('created_at', TIMESTAMP, nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_sku_cost_history_sku', 'sku_cost_history', ['sku_id', 'created_at', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_sku_cost_history_sku', table_name='sku_cost_history')
    op.drop_table('sku_cost_history')
    op.drop_table('sku_costs')
    with op.batch_alter_table('stock_ledger') as batch:
        batch.drop_index('ix_stock_ledger_origin')
        batch.drop_column('unit_cost')
