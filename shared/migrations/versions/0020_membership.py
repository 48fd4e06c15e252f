"""Membership: members, tiers (one, "normal", to start), the points ledger, orders' points accounts

Revision ID: 0020
Revises: 0008
Create Date: 2026-12-02
"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")

revision = '0020'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('member_order_points',
    sa.Column('order_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('paid', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('refunded', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('points_earned', sa.Integer(), nullable=False),
    sa.Column('points_reversed', sa.Integer(), nullable=False),
    sa.Column('spend_counted', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('updated_at', TIMESTAMP, nullable=False),
    sa.PrimaryKeyConstraint('order_id')
    )
    with op.batch_alter_table('member_order_points', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_order_points_member_id'), ['member_id'], unique=False)

    tiers = op.create_table('member_tiers',
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('threshold', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('discount_rate', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=False),
    sa.Column('updated_at', TIMESTAMP, nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    op.bulk_insert(tiers, [{"code": "normal", "name": "Normal", "threshold": 0, "discount_rate": 0,
                            "updated_by": "system", "updated_at": datetime.now(timezone.utc)}])
    op.create_table('members',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('phone_digest', sa.String(length=64), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('email_digest', sa.String(length=64), nullable=True),
    sa.Column('tier', sa.String(length=20), nullable=False),
    sa.Column('lifetime_spend', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('points_balance', sa.Integer(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', TIMESTAMP, nullable=False),
    sa.Column('updated_at', TIMESTAMP, nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('email_digest', name='uq_members_email'),
    sa.UniqueConstraint('phone_digest', name='uq_members_phone')
    )
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.create_index('ix_members_name', ['name'], unique=False)

    op.create_table('points_ledger',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('remaining', sa.Integer(), nullable=False),
    sa.Column('balance_after', sa.Integer(), nullable=False),
    sa.Column('origin', sa.String(length=64), nullable=False),
    sa.Column('note', sa.String(length=255), nullable=False),
    sa.Column('expires_at', TIMESTAMP, nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', TIMESTAMP, nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('member_id', 'kind', 'origin', name='uq_points_origin')
    )
    with op.batch_alter_table('points_ledger', schema=None) as batch_op:
        batch_op.create_index('ix_points_expiring', ['expires_at', 'remaining'], unique=False)
        batch_op.create_index('ix_points_member', ['member_id', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('points_ledger', schema=None) as batch_op:
        batch_op.drop_index('ix_points_member')
        batch_op.drop_index('ix_points_expiring')

    op.drop_table('points_ledger')
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_index('ix_members_name')

    op.drop_table('members')
    op.drop_table('member_tiers')
    with op.batch_alter_table('member_order_points', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_order_points_member_id'))

    op.drop_table('member_order_points')
