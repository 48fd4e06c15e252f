"""Sales: the discounts an order and each of its lines got from pricing (promotions, coupon, points)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

MONEY = sa.Numeric(precision=18, scale=4)

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sales_order_lines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('list_amount', MONEY, server_default='0', nullable=False))
        batch_op.add_column(sa.Column('discount_amount', MONEY, server_default='0', nullable=False))
        batch_op.add_column(sa.Column('promotions', sa.Text(), nullable=True))
    op.execute("UPDATE sales_order_lines SET list_amount = amount")  # lines sold before had no discount

    with op.batch_alter_table('sales_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('discount_amount', MONEY, server_default='0', nullable=False))
        batch_op.add_column(sa.Column('coupon_code', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('points_redeemed', sa.Integer(), server_default='0', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('sales_orders', schema=None) as batch_op:
        batch_op.drop_column('points_redeemed')
        batch_op.drop_column('coupon_code')
        batch_op.drop_column('discount_amount')

    with op.batch_alter_table('sales_order_lines', schema=None) as batch_op:
        batch_op.drop_column('promotions')
        batch_op.drop_column('discount_amount')
        batch_op.drop_column('list_amount')

