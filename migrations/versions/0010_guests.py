"""guests book without an account: guest holds and orders, their contact and language, magic links

Revision ID: 0010_guests
Revises: 0012_brand
Create Date: 2026-12-04 22:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_guests'
down_revision = "0012_brand"
branch_labels = None
depends_on = None

KINDS_BEFORE = (
    "'ticket_issued', 'payment_failed', 'trip_delayed', 'trip_cancelled', 'bus_changed', 'boarding_reminder', "
    "'staff_invitation', 'password_reset', 'signup_confirmation', 'signup_existing'"
)
KINDS_AFTER = KINDS_BEFORE + ", 'ticket_link', 'claim_code'"


def upgrade():
    op.create_table(
        'guest_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('secret_hash', sa.String(length=64), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_guest_links_order_id_orders'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_guest_links')),
        sa.UniqueConstraint('secret_hash', name=op.f('uq_guest_links_secret_hash')),
    )
    with op.batch_alter_table('guest_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_guest_links_order_id'), ['order_id'], unique=False)

    with op.batch_alter_table('holds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('guest_key', sa.String(length=43), nullable=True))
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_index('ix_holds_guest_key_status', ['guest_key', 'status'], unique=False)
        batch_op.create_check_constraint(op.f('ck_holds_buyer'), '(user_id IS NULL) <> (guest_key IS NULL)')

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('guest_key', sa.String(length=43), nullable=True))
        batch_op.add_column(sa.Column('contact_name', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('contact_phone', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('contact_email', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('language', sa.String(length=5), nullable=True))
        batch_op.create_index(batch_op.f('ix_orders_guest_key'), ['guest_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_contact_phone'), ['contact_phone'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone_verified_at', sa.DateTime(timezone=True), nullable=True))

    # Autogenerate does not compare CHECK constraints: a guest's new link and a phone's claim code.
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_notifications_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_notifications_kind'), f"kind IN ({KINDS_AFTER})")


def downgrade():
    op.execute("DELETE FROM notifications WHERE kind IN ('ticket_link', 'claim_code')")
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_notifications_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_notifications_kind'), f"kind IN ({KINDS_BEFORE})")

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('phone_verified_at')

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orders_contact_phone'))
        batch_op.drop_index(batch_op.f('ix_orders_guest_key'))
        batch_op.drop_column('language')
        batch_op.drop_column('contact_email')
        batch_op.drop_column('contact_phone')
        batch_op.drop_column('contact_name')
        batch_op.drop_column('guest_key')

    with op.batch_alter_table('holds', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_holds_buyer'), type_='check')
        batch_op.drop_index('ix_holds_guest_key_status')
        op.execute("DELETE FROM holds WHERE user_id IS NULL")
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('guest_key')

    with op.batch_alter_table('guest_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_guest_links_order_id'))

    op.drop_table('guest_links')
