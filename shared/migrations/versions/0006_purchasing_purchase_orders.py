"""Purchasing: a SKU's suppliers, purchase orders, their lines and receipts

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
DECIMAL = sa.Numeric(precision=18, scale=4)

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sku_suppliers',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('sku_id', sa.Integer(), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('supplier_sku_code', sa.String(length=64), nullable=False),
    sa.Column('last_price', DECIMAL, nullable=True),
    sa.Column('lead_time_days', sa.Integer(), nullable=False),
    sa.Column('is_preferred', sa.Boolean(), nullable=False),
    sa.Column('updated_at', TIMESTAMP, nullable=False),
    sa.ForeignKeyConstraint(['sku_id'], ['skus.id'], ),
    sa.ForeignKeyConstraint(['supplier_id'], ['suppliers.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('sku_id', 'supplier_id', name='uq_sku_supplier')
    )
    op.create_index('ix_sku_suppliers_supplier_id', 'sku_suppliers', ['supplier_id'], unique=False)
    op.create_table('purchase_orders',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('warehouse_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('total_amount', DECIMAL, nullable=False),
    sa.Column('expected_at', TIMESTAMP, nullable=True),
    sa.Column('over_receipt_pct', DECIMAL, nullable=False),
    sa.Column('note', sa.String(length=255), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', TIMESTAMP, nullable=False),
    sa.Column('updated_at', TIMESTAMP, nullable=False),
    sa.Column('approved_by', sa.String(length=64), nullable=True),
    sa.Column('approved_at', TIMESTAMP, nullable=True),
    sa.Column('ended_at', TIMESTAMP, nullable=True),
    sa.Column('end_reason', sa.String(length=255), nullable=True),
    sa.ForeignKeyConstraint(['supplier_id'], ['suppliers.id'], ),
    sa.ForeignKeyConstraint(['warehouse_id'], ['warehouses.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_purchase_orders_created_at', 'purchase_orders', ['created_at'], unique=False)
    op.create_index('ix_purchase_orders_status', 'purchase_orders', ['status'], unique=False)
    op.create_index('ix_purchase_orders_supplier_id', 'purchase_orders', ['supplier_id'], unique=False)
    op.create_table('purchase_order_lines',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('po_id', sa.Integer(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('sku_id', sa.Integer(), nullable=False),
    sa.Column('sku_code', sa.String(length=64), nullable=False),
    sa.Column('quantity', DECIMAL, nullable=False),
    sa.Column('unit_cost', DECIMAL, nullable=False),
    sa.Column('amount', DECIMAL, nullable=False),
    sa.Column('qty_received', DECIMAL, nullable=False),
    sa.Column('expected_at', TIMESTAMP, nullable=True),
    sa.ForeignKeyConstraint(['po_id'], ['purchase_orders.id'], ),
    sa.ForeignKeyConstraint(['sku_id'], ['skus.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('po_id', 'line_no', name='uq_po_line')
    )
    op.create_index('ix_purchase_order_lines_sku_id', 'purchase_order_lines', ['sku_id'], unique=False)
    op.create_table('purchase_receipts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('po_id', sa.Integer(), nullable=False),
    sa.Column('lines', sa.Text(), nullable=False),
    sa.Column('note', sa.String(length=255), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', TIMESTAMP, nullable=False),
    sa.ForeignKeyConstraint(['po_id'], ['purchase_orders.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_purchase_receipts_po_id', 'purchase_receipts', ['po_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_purchase_receipts_po_id', table_name='purchase_receipts')
    op.drop_table('purchase_receipts')
    op.drop_index('ix_purchase_order_lines_sku_id', table_name='purchase_order_lines')
    op.drop_table('purchase_order_lines')
    op.drop_index('ix_purchase_orders_supplier_id', table_name='purchase_orders')
    op.drop_index('ix_purchase_orders_status', table_name='purchase_orders')
    op.drop_index('ix_purchase_orders_created_at', table_name='purchase_orders')
    op.drop_table('purchase_orders')
    op.drop_index('ix_sku_suppliers_supplier_id', table_name='sku_suppliers')
    op.drop_table('sku_suppliers')
