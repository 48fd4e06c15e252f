"""Catalog: categories, items, SKUs and price history

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('categories',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('path', sa.String(length=255), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('created_at', TIMESTAMP, nullable=False),
    sa.Column('updated_at', TIMESTAMP, nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['categories.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('parent_id', 'name', name='uq_category_sibling_name')
    )
    op.create_index('ix_categories_path', 'categories', ['path'], unique=False)
    # Category 1 exists from the start, so the seed's item-create body ("category_id": 1) works.
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    op.bulk_insert(sa.table('categories', sa.column('id', sa.Integer), sa.column('name', sa.String),
                            sa.column('parent_id', sa.Integer), sa.column('path', sa.String),
                            sa.column('level', sa.Integer), sa.column('sort_order', sa.Integer),
                            sa.column('created_at', sa.DateTime), sa.column('updated_at', sa.DateTime)),
                   [{'id': 1, 'name': '未分类', 'parent_id': None, 'path': '/1/', 'level': 1, 'sort_order': 0,
                     'created_at': now, 'updated_at': now}])

    op.create_table('items',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('brand', sa.String(length=100), nullable=False),
    sa.Column('barcode', sa.String(length=64), nullable=True),
    sa.Column('price', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('spec_names', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', TIMESTAMP, nullable=False),
    sa.Column('updated_at', TIMESTAMP, nullable=False),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_items_barcode', 'items', ['barcode'], unique=False)
    op.create_index('ix_items_category_id', 'items', ['category_id'], unique=False)
    op.create_index('ix_items_name', 'items', ['name'], unique=False)
    op.create_index('ix_items_status', 'items', ['status'], unique=False)

    op.create_table('skus',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('barcode', sa.String(length=64), nullable=True),
    sa.Column('specs', sa.Text(), nullable=False),
    sa.Column('spec_key', sa.String(length=255), nullable=False),
    sa.Column('price', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('price_overridden', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', TIMESTAMP, nullable=False),
    sa.Column('updated_at', TIMESTAMP, nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('barcode'),
    sa.UniqueConstraint('code'),
    sa.UniqueConstraint('item_id', 'spec_key', name='uq_sku_item_specs')
    )
    op.create_index('ix_skus_item_id', 'skus', ['item_id'], unique=False)

    op.create_table('price_changes',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('sku_id', sa.Integer(), nullable=True),
    sa.Column('old_price', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('new_price', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('changed_by', sa.String(length=64), nullable=False),
    sa.Column('changed_at', TIMESTAMP, nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], ),
    sa.ForeignKeyConstraint(['sku_id'], ['skus.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_price_changes_item', 'price_changes', ['item_id', 'changed_at'], unique=False)



def downgrade() -> None:
    op.drop_index('ix_price_changes_item', table_name='price_changes')
    op.drop_table('price_changes')
    op.drop_index('ix_skus_item_id', table_name='skus')
    op.drop_table('skus')
    op.drop_index('ix_items_status', table_name='items')
    op.drop_index('ix_items_name', table_name='items')
    op.drop_index('ix_items_category_id', table_name='items')
    op.drop_index('ix_items_barcode', table_name='items')
    op.drop_table('items')
    op.drop_index('ix_categories_path', table_name='categories')
    op.drop_table('categories')
