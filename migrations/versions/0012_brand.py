"""an operator's brand: colour and logo

Revision ID: 0012_brand
Revises: 0008_i18n
Create Date: 2026-12-04 22:10:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0012_brand"
down_revision = "0008_i18n"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("companies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("brand_colour", sa.String(length=7), nullable=True))
        batch_op.add_column(sa.Column("logo_png", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("logo_version", sa.String(length=16), nullable=True))


def downgrade():
    with op.batch_alter_table("companies", schema=None) as batch_op:
        batch_op.drop_column("logo_version")
        batch_op.drop_column("logo_png")
        batch_op.drop_column("brand_colour")
