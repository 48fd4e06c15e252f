"""Inventory (warehouses, stock levels, thresholds, the stock ledger) and sales (orders, lines, payments,
shipments, refunds); the default warehouse MAIN

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('warehouses',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('address', sa.String(length=255), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', TIMESTAMP, nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_table('sales_orders',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('warehouse_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('total_amount', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('paid_amount', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('refunded_amount', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('note', sa.String(length=255), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', TIMESTAMP, nullable=False),
    sa.Column('updated_at', TIMESTAMP, nullable=False),
    sa.Column('paid_at', TIMESTAMP, nullable=True),
    sa.Column('cancelled_at', TIMESTAMP, nullable=True),
    sa.Column('cancel_reason', sa.String(length=255), nullable=True),
    sa.ForeignKeyConstraint(['warehouse_id'], ['warehouses.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_sales_orders_created', 'sales_orders', ['created_at'], unique=False)
    op.create_index('ix_sales_orders_customer', 'sales_orders', ['customer_id', 'created_at'], unique=False)
    op.create_index('ix_sales_orders_status_created', 'sales_orders', ['status', 'created_at'], unique=False)

    op.create_table('order_payments',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', TIMESTAMP, nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['sales_orders.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_order_payments_order_id', 'order_payments', ['order_id'], unique=False)

    op.create_table('order_refunds',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('reason', sa.String(length=255), nullable=False),
    sa.Column('lines', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', TIMESTAMP, nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['sales_orders.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_order_refunds_order_id', 'order_refunds', ['order_id'], unique=False)

    op.create_table('order_shipments',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('lines', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', TIMESTAMP, nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['sales_orders.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_order_shipments_order_id', 'order_shipments', ['order_id'], unique=False)

    op.create_table('sales_order_lines',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('sku_id', sa.Integer(), nullable=False),
    sa.Column('sku_code', sa.String(length=64), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('qty_shipped', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('qty_returned', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('qty_released', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['sales_orders.id'], ),
    sa.ForeignKeyConstraint(['sku_id'], ['skus.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_sales_order_lines_order_id', 'sales_order_lines', ['order_id'], unique=False)
    op.create_index('ix_sales_order_lines_sku_id', 'sales_order_lines', ['sku_id'], unique=False)

    op.create_table('sku_stock_settings',
    sa.Column('sku_id', sa.Integer(), nullable=False),
    sa.Column('low_stock_threshold', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('updated_at', TIMESTAMP, nullable=False),
    sa.ForeignKeyConstraint(['sku_id'], ['skus.id'], ),
    sa.PrimaryKeyConstraint('sku_id')
    )
    op.create_table('stock_levels',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('sku_id', sa.Integer(), nullable=False),
    sa.Column('warehouse_id', sa.Integer(), nullable=False),
    sa.Column('on_hand', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('reserved', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('low_stock_threshold', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('updated_at', TIMESTAMP, nullable=False),
    sa.ForeignKeyConstraint(['sku_id'], ['skus.id'], ),
    sa.ForeignKeyConstraint(['warehouse_id'], ['warehouses.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('sku_id', 'warehouse_id', name='uq_stock_sku_warehouse')
    )
    op.create_index('ix_stock_levels_warehouse_id', 'stock_levels', ['warehouse_id'], unique=False)

    op.create_table('stock_ledger',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('stock_level_id', sa.Integer(), nullable=False),
    sa.Column('sku_id', sa.Integer(), nullable=False),
    sa.Column('warehouse_id', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('qty_on_hand', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('qty_reserved', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('on_hand_after', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('reserved_after', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('doc_type', sa.String(length=32), nullable=False),
    sa.Column('doc_id', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=255), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('created_at', TIMESTAMP, nullable=False),
    sa.ForeignKeyConstraint(['stock_level_id'], ['stock_levels.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_stock_ledger_created', 'stock_ledger', ['created_at'], unique=False)
    op.create_index('ix_stock_ledger_doc', 'stock_ledger', ['doc_type', 'doc_id'], unique=False)
    op.create_index('ix_stock_ledger_level', 'stock_ledger', ['stock_level_id', 'id'], unique=False)
    op.create_index('ix_stock_ledger_sku_wh', 'stock_ledger', ['sku_id', 'warehouse_id', 'created_at'], unique=False)

    # The default warehouse, so an order without a warehouse has somewhere to take stock from.
    warehouses = sa.table('warehouses', sa.column('code', sa.String), sa.column('name', sa.String),
                          sa.column('address', sa.String), sa.column('is_default', sa.Boolean),
                          sa.column('is_active', sa.Boolean), sa.column('created_at', sa.DateTime))
    op.bulk_insert(warehouses, [{'code': 'MAIN', 'name': 'Main warehouse', 'address': '', 'is_default': True,
                                 'is_active': True, 'created_at': datetime.now(timezone.utc).replace(tzinfo=None)}])


def downgrade() -> None:
    op.drop_index('ix_stock_ledger_sku_wh', table_name='stock_ledger')
    op.drop_index('ix_stock_ledger_level', table_name='stock_ledger')
    op.drop_index('ix_stock_ledger_doc', table_name='stock_ledger')
    op.drop_index('ix_stock_ledger_created', table_name='stock_ledger')
    op.drop_table('stock_ledger')
    op.drop_index('ix_stock_levels_warehouse_id', table_name='stock_levels')
    op.drop_table('stock_levels')
    op.drop_table('sku_stock_settings')
    op.drop_index('ix_sales_order_lines_sku_id', table_name='sales_order_lines')
    op.drop_index('ix_sales_order_lines_order_id', table_name='sales_order_lines')
    op.drop_table('sales_order_lines')
    op.drop_index('ix_order_shipments_order_id', table_name='order_shipments')
    op.drop_table('order_shipments')
    op.drop_index('ix_order_refunds_order_id', table_name='order_refunds')
    op.drop_table('order_refunds')
    op.drop_index('ix_order_payments_order_id', table_name='order_payments')
    op.drop_table('order_payments')
    op.drop_index('ix_sales_orders_status_created', table_name='sales_orders')
    op.drop_index('ix_sales_orders_customer', table_name='sales_orders')
    op.drop_index('ix_sales_orders_created', table_name='sales_orders')
    op.drop_table('sales_orders')
    op.drop_table('warehouses')
