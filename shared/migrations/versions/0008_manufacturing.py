"""Manufacturing: BOMs (versioned) and their components, work orders, their components and completions

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
DECIMAL = sa.Numeric(precision=18, scale=4)

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('boms',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('sku_id', sa.Integer(), nullable=False),
    sa.Column('sku_code', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('labour_cost', DECIMAL, nullable=False),
    sa.Column('overhead_cost', DECIMAL, nullable=False),
    sa.Column('note', sa.String(length=255), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', TIMESTAMP, nullable=False),
    sa.ForeignKeyConstraint(['sku_id'], ['skus.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('sku_id', 'version', name='uq_bom_sku_version')
    )
    op.create_index('ix_boms_current', 'boms', ['is_current', 'sku_id'], unique=False)
    op.create_table('bom_components',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('bom_id', sa.Integer(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('sku_id', sa.Integer(), nullable=False),
    sa.Column('sku_code', sa.String(length=64), nullable=False),
    sa.Column('qty_per_unit', DECIMAL, nullable=False),
    sa.Column('scrap_pct', DECIMAL, nullable=False),
    sa.ForeignKeyConstraint(['bom_id'], ['boms.id'], ),
    sa.ForeignKeyConstraint(['sku_id'], ['skus.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_bom_components_bom_id', 'bom_components', ['bom_id'], unique=False)
    op.create_table('work_orders',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('sku_id', sa.Integer(), nullable=False),
    sa.Column('sku_code', sa.String(length=64), nullable=False),
    sa.Column('bom_id', sa.Integer(), nullable=False),
    sa.Column('warehouse_id', sa.Integer(), nullable=False),
    sa.Column('quantity', DECIMAL, nullable=False),
    sa.Column('qty_done', DECIMAL, nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('note', sa.String(length=255), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', TIMESTAMP, nullable=False),
    sa.Column('updated_at', TIMESTAMP, nullable=False),
    sa.Column('released_at', TIMESTAMP, nullable=True),
    sa.Column('ended_at', TIMESTAMP, nullable=True),
    sa.ForeignKeyConstraint(['bom_id'], ['boms.id'], ),
    sa.ForeignKeyConstraint(['sku_id'], ['skus.id'], ),
    sa.ForeignKeyConstraint(['warehouse_id'], ['warehouses.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_work_orders_created_at', 'work_orders', ['created_at'], unique=False)
    op.create_index('ix_work_orders_sku_id', 'work_orders', ['sku_id'], unique=False)
    op.create_index('ix_work_orders_status', 'work_orders', ['status'], unique=False)
    op.create_table('work_order_components',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('wo_id', sa.Integer(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('sku_id', sa.Integer(), nullable=False),
    sa.Column('sku_code', sa.String(length=64), nullable=False),
    sa.Column('qty_required', DECIMAL, nullable=False),
    sa.Column('qty_reserved', DECIMAL, nullable=False),
    sa.Column('qty_issued', DECIMAL, nullable=False),
    sa.ForeignKeyConstraint(['wo_id'], ['work_orders.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('wo_id', 'line_no', name='uq_wo_component')
    )
    op.create_table('work_order_completions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('wo_id', sa.Integer(), nullable=False),
    sa.Column('quantity', DECIMAL, nullable=False),
    sa.Column('unit_cost', DECIMAL, nullable=False),
    sa.Column('components', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', TIMESTAMP, nullable=False),
    sa.ForeignKeyConstraint(['wo_id'], ['work_orders.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_work_order_completions_wo_id', 'work_order_completions', ['wo_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_work_order_completions_wo_id', table_name='work_order_completions')
    op.drop_table('work_order_completions')
    op.drop_table('work_order_components')
    op.drop_index('ix_work_orders_status', table_name='work_orders')
    op.drop_index('ix_work_orders_sku_id', table_name='work_orders')
    op.drop_index('ix_work_orders_created_at', table_name='work_orders')
    op.drop_table('work_orders')
    op.drop_index('ix_bom_components_bom_id', table_name='bom_components')
    op.drop_table('bom_components')
    op.drop_index('ix_boms_current', table_name='boms')
    op.drop_table('boms')
