"""Scheduled jobs run at most once per period: the period a run belongs to, unique per job

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

TIMESTAMP = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('job_runs') as batch:
        batch.add_column(sa.Column('period_start', TIMESTAMP, nullable=True))
        batch.create_unique_constraint('uq_job_runs_period', ['job', 'period_start'])


def downgrade() -> None:
    with op.batch_alter_table('job_runs') as batch:
        batch.drop_constraint('uq_job_runs_period', type_='unique')
        batch.drop_column('period_start')
