"""Order numbers stored with the order (they were derived from its id and created_at at each read)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sales_orders') as batch:
        batch.add_column(sa.Column('number', sa.String(length=24), nullable=True))
    orders = sa.table('sales_orders', sa.column('id', sa.Integer), sa.column('created_at', sa.DateTime),
                      sa.column('number', sa.String))
    connection = op.get_bind()
    rows = connection.execute(sa.select(orders.c.id, orders.c.created_at)).all()
    for start in range(0, len(rows), 1000):  # the number the order was shown with: SO + date + id
        connection.execute(orders.update().where(orders.c.id == sa.bindparam('oid')).values(number=sa.bindparam('n')),
                           [{'oid': r.id, 'n': f"SO{r.created_at:%Y%m%d}{r.id:06d}"} for r in rows[start:start + 1000]])
    with op.batch_alter_table('sales_orders') as batch:
        batch.create_unique_constraint('uq_sales_orders_number', ['number'])


def downgrade() -> None:
    with op.batch_alter_table('sales_orders') as batch:
        batch.drop_constraint('uq_sales_orders_number', type_='unique')
        batch.drop_column('number')
