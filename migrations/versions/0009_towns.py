"""towns: every station is in a town passengers can search by; buses list their amenities

Each existing station's town comes from its ``city``: a known town when the city is one of its
names (Butare is Huye, Gisenyi is Rubavu...), else a new town of that name.

Revision ID: 0009_towns
Revises: 0010_guests
Create Date: 2026-12-04 22:10:00

"""
import re
import unicodedata
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0009_towns'
down_revision = '0010_guests'
branch_labels = None
depends_on = None

# Rwanda's main towns and the other names people use for them, as of this migration (a frozen
# copy: later changes to the demo's list must not change what this migration did).
KNOWN_TOWNS = [
    ("kigali", "Kigali", ["Kigari"]),
    ("huye", "Huye", ["Butare"]),
    ("rubavu", "Rubavu", ["Gisenyi"]),
    ("musanze", "Musanze", ["Ruhengeri"]),
    ("rusizi", "Rusizi", ["Cyangugu", "Kamembe"]),
    ("muhanga", "Muhanga", ["Gitarama"]),
    ("karongi", "Karongi", ["Kibuye"]),
    ("nyamagabe", "Nyamagabe", ["Gikongoro"]),
    ("gicumbi", "Gicumbi", ["Byumba"]),
    ("ngoma", "Ngoma", ["Kibungo"]),
    ("nyanza", "Nyanza", ["Nyabisindu"]),
    ("rwamagana", "Rwamagana", []),
    ("kayonza", "Kayonza", []),
    ("nyagatare", "Nyagatare", []),
]

towns = sa.table(
    "towns",
    sa.column("id", sa.Integer),
    sa.column("code", sa.String),
    sa.column("name", sa.String),
    sa.column("aliases", sa.JSON),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
stations = sa.table(
    "stations",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("city", sa.String),
    sa.column("town_id", sa.Integer),
)


def _key(text):
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", " ", plain.lower()).strip()


def _slug(text):
    return _key(text).replace(" ", "-")[:30] or "town"


def upgrade():
    op.create_table('towns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('aliases', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_towns')),
    sa.UniqueConstraint('code', name=op.f('uq_towns_code')),
    sa.UniqueConstraint('name', name=op.f('uq_towns_name'))
    )
    with op.batch_alter_table('buses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('amenities', sa.JSON(), server_default='[]', nullable=False))
    with op.batch_alter_table('stations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('town_id', sa.Integer(), nullable=True))

    _towns_for_existing_stations(op.get_bind())

    with op.batch_alter_table('stations', schema=None) as batch_op:
        batch_op.alter_column('town_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint('uq_stations_name_city', type_='unique')
        batch_op.drop_index('ix_stations_city')
        batch_op.drop_column('city')
        batch_op.create_unique_constraint(batch_op.f('uq_stations_name_town_id'), ['name', 'town_id'])
        batch_op.create_index(batch_op.f('ix_stations_town_id'), ['town_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_stations_town_id_towns'), 'towns', ['town_id'], ['id'])


def _towns_for_existing_stations(bind):
    known = {}
    for code, name, aliases in KNOWN_TOWNS:
        for spelling in (name, *aliases):
            known[_key(spelling)] = (code, name, aliases)
    rows = bind.execute(sa.select(stations.c.id, stations.c.name, stations.c.city).order_by(stations.c.id)).all()
    made = {}  # town name -> id
    names_in = {}  # town id -> station names already in it (a station name is unique in its town)
    now = datetime.now(UTC)

    def town(code, name, aliases):
        if name not in made:
            taken = {c for (c,) in bind.execute(sa.select(towns.c.code))}
            unique_code, n = code, 1
            while unique_code in taken:
                n += 1
                unique_code = f"{code[:34]}-{n}"
            made[name] = bind.execute(
                towns.insert()
                .values(code=unique_code, name=name, aliases=aliases, created_at=now, updated_at=now)
                .returning(towns.c.id)
            ).scalar_one()
        return made[name]

    for station_id, station_name, city in rows:
        city = " ".join(city.split())
        code, name, aliases = known.get(_key(city), (_slug(city), city, []))
        town_id = town(code, name, aliases)
        if station_name in names_in.setdefault(town_id, set()):
            # Two stations of that name (say Butare's and Huye's): keep the second's city a town.
            own = city if city not in made else f"{city} {station_id}"
            town_id = town(_slug(own), own, [])
        names_in.setdefault(town_id, set()).add(station_name)
        bind.execute(stations.update().where(stations.c.id == station_id).values(town_id=town_id))


def downgrade():
    with op.batch_alter_table('stations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('city', sa.String(length=80), nullable=True))
    bind = op.get_bind()
    bind.execute(
        stations.update().values(
            city=sa.select(towns.c.name).where(towns.c.id == stations.c.town_id).scalar_subquery()
        )
    )
    with op.batch_alter_table('stations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_stations_town_id_towns'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_stations_town_id'))
        batch_op.drop_constraint(batch_op.f('uq_stations_name_town_id'), type_='unique')
        batch_op.drop_column('town_id')
        batch_op.alter_column('city', existing_type=sa.String(length=80), nullable=False)
        batch_op.create_index('ix_stations_city', ['city'], unique=False)
        batch_op.create_unique_constraint('uq_stations_name_city', ['name', 'city'])
    with op.batch_alter_table('buses', schema=None) as batch_op:
        batch_op.drop_column('amenities')
    op.drop_table('towns')
