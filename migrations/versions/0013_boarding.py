"""boarding: tickets redeemed at the bus door, every scan recorded, no-shows, the bus's current stop

Revision ID: 0013_boarding
Revises: 0009_towns
Create Date: 2026-12-05 01:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_boarding'
down_revision = '0009_towns'
branch_labels = None
depends_on = None

TICKET_STATUSES_BEFORE = "'pending', 'paid', 'cancelled', 'expired'"
TICKET_STATUSES_AFTER = TICKET_STATUSES_BEFORE + ", 'no_show'"
KINDS_BEFORE = (
    "'ticket_issued', 'payment_failed', 'trip_delayed', 'trip_cancelled', 'bus_changed', 'boarding_reminder', "
    "'ticket_link', 'claim_code', 'staff_invitation', 'password_reset', 'signup_confirmation', 'signup_existing'"
)
KINDS_AFTER = KINDS_BEFORE + ", 'ticket_no_show'"
SCAN_RESULTS = "'boarded', 'already_boarded', 'wrong_trip', 'not_paid', 'cancelled', 'forged', 'unreadable'"


def upgrade():
    op.create_table(
        'boarding_scans',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('scan_id', sa.String(length=36), nullable=False),
        sa.Column('trip_id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=True),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('device', sa.String(length=64), nullable=False),
        sa.Column('stop', sa.SmallInteger(), nullable=False),
        sa.Column('scanned_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('offline', sa.Boolean(), nullable=False),
        sa.Column('result', sa.String(length=20), nullable=False),
        sa.Column('duplicate', sa.Boolean(), nullable=False),
        sa.Column('undone_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(f"result IN ({SCAN_RESULTS})", name=op.f('ck_boarding_scans_result')),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_boarding_scans_ticket_id_tickets'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['trip_id'], ['trips.id'], name=op.f('fk_boarding_scans_trip_id_trips'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_boarding_scans_user_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_boarding_scans')),
        sa.UniqueConstraint('scan_id', name=op.f('uq_boarding_scans_scan_id')),
    )
    with op.batch_alter_table('boarding_scans', schema=None) as batch_op:
        batch_op.create_index('ix_boarding_scans_trip_id_scanned_at', ['trip_id', 'scanned_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_boarding_scans_ticket_id'), ['ticket_id'], unique=False)

    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('boarded_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('boarded_device', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('boarded_stop', sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column('boarded_offline', sa.Boolean(), server_default='false', nullable=False))
        batch_op.create_foreign_key(batch_op.f('fk_tickets_boarded_by_id_users'), 'users', ['boarded_by_id'], ['id'], ondelete='SET NULL')
        # Autogenerate does not compare CHECK constraints: a ticket can now be a no-show.
        batch_op.drop_constraint(op.f('ck_tickets_status'), type_='check')
        batch_op.create_check_constraint(op.f('ck_tickets_status'), f"status IN ({TICKET_STATUSES_AFTER})")

    with op.batch_alter_table('trips', schema=None) as batch_op:
        batch_op.add_column(sa.Column('current_stop', sa.SmallInteger(), server_default='0', nullable=False))

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_notifications_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_notifications_kind'), f"kind IN ({KINDS_AFTER})")


def downgrade():
    op.execute("DELETE FROM notifications WHERE kind = 'ticket_no_show'")
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_notifications_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_notifications_kind'), f"kind IN ({KINDS_BEFORE})")

    with op.batch_alter_table('trips', schema=None) as batch_op:
        batch_op.drop_column('current_stop')

    # A no-show's seat may have been sold again since: the ticket stays a record, as a cancelled one.
    op.execute("UPDATE tickets SET status = 'cancelled' WHERE status = 'no_show'")
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_tickets_status'), type_='check')
        batch_op.create_check_constraint(op.f('ck_tickets_status'), f"status IN ({TICKET_STATUSES_BEFORE})")
        batch_op.drop_constraint(batch_op.f('fk_tickets_boarded_by_id_users'), type_='foreignkey')
        batch_op.drop_column('boarded_offline')
        batch_op.drop_column('boarded_stop')
        batch_op.drop_column('boarded_device')
        batch_op.drop_column('boarded_by_id')

    with op.batch_alter_table('boarding_scans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_boarding_scans_ticket_id'))
        batch_op.drop_index('ix_boarding_scans_trip_id_scanned_at')

    op.drop_table('boarding_scans')
