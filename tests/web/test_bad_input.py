"""Bad input is refused at the edge with a 4xx and the usual error body, and writes nothing.

Each of these answered 500 with a traceback once: NUL bytes in text, integers beyond a column's
range, JSON nested thousands deep, a list where a station id belongs, a newline in ``next=``.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.booking.models import Hold, Order
from app.extensions import db
from tests import factories

DEEP = "[" * 5000 + "]" * 5000
DEEP_OBJECT = '{"a":' * 3000 + "1" + "}" * 3000


@pytest.fixture
def line():
    return factories.trip_ahead("Edge Express", days=2, rows=3, leg_fare=2000)


@pytest.fixture
def bearer(client):
    """Headers with a fresh bearer token for a new user with ``role``."""

    def headers(role: str = "customer") -> dict:
        user = factories.user_with_role(role)
        answer = client.post("/api/v1/auth/token", json={"email": user.email, "password": factories.PASSWORD})
        return {"Authorization": f"Bearer {answer.get_json()['access_token']}"}

    return headers


def rows() -> dict[str, int]:
    """Rows in every table (the users the test made itself are counted before the request)."""
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
        if table.name != "alembic_version"
    }


def json_error(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    error = response.get_json()["error"]
    assert error["code"] and error["message"] and isinstance(error["fields"], dict)
    return error


def page_error(response, status: int) -> str:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    page = response.get_data(as_text=True)
    assert "error-page" in page, page[:300]
    return page


# --- The requests of the report, one by one --------------------------------------------------------


def test_a_nul_byte_in_a_search_is_a_400_page(client):
    before = rows()
    page_error(client.get("/search?origin=%00&destination=Huye"), 400)
    assert rows() == before


def test_a_nul_byte_in_an_osmand_report_is_a_400_json_error(client):
    assert json_error(client.get("/osmand?id=%00&lat=-1.9&lon=30.1"), 400)["code"] == "bad_request"
    assert json_error(client.post("/osmand", data={"id": "a\x00b", "lat": "-1.9"}), 400)["code"] == "bad_request"
    error = json_error(client.post("/osmand", json={"device_id": "a\x00b", "location": {}}), 400)
    assert error["code"] == "bad_fix" and "device_id" in error["fields"]


def test_a_nul_byte_in_a_share_link_is_a_404_page(client):
    page_error(client.get("/live/%00"), 404)
    page_error(client.get("/live/abc%00def"), 404)


def test_a_nul_byte_in_json_text_is_a_field_error(client):
    before = rows()
    error = json_error(client.post("/api/v1/auth/token", json={"email": "a\u0000b", "password": "x"}), 422)
    assert error["fields"] == {"email": ["Must be one line of text without control characters."]}
    error = json_error(
        client.post(
            "/api/v1/auth/token", data='{"email": "\\ud800", "password": "x"}', content_type="application/json"
        ),
        422,
    )
    assert "email" in error["fields"]
    assert rows() == before


@pytest.mark.parametrize("path", ["/trips/99999999999", "/trips/2147483648", "/trips/0", "/trips/%D9%A1"])
def test_an_id_no_row_can_have_is_a_404_page(client, path):
    page_error(client.get(path), 404)


@pytest.mark.parametrize(
    "path", ["/api/v1/trips/99999999999/seats", "/api/v1/trips/9223372036854775808/seats", "/api/v1/orders/%00"]
)
def test_an_api_path_no_row_can_have_is_a_404_json_error(client, bearer, path):
    assert json_error(client.get(path, headers=bearer()), 404)["code"] == "not_found"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/holds", {"trip_id": 2**63, "seats": ["1A"]}),
        ("/holds", {"trip_id": "LINE", "seats": ["1A"], "from": 2**70}),
        ("/orders", {"trip_id": 2**63, "seats": ["1A"], "passengers": [{"name": "Aline"}]}),
        ("/orders", {"trip_id": "LINE", "seats": ["1A"], "passengers": [{"name": "Aline"}], "to": -(2**70)}),
        ("/tickets/verify", {"qr": "AAAA", "trip_id": 2**63}),
    ],
)
def test_integers_beyond_the_column_range_in_json_are_field_errors(client, bearer, line, path, body):
    if body.get("trip_id") == "LINE":
        body = {**body, "trip_id": line.id}
    headers = bearer("driver")
    before = rows()
    error = json_error(client.post(f"/api/v1{path}", json=body, headers=headers), 422)
    assert set(error["fields"]) & {"trip_id", "from", "to"}
    assert rows() == before


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=1180591620717411303424&to=1", "unknown station id 1180591620717411303424"),
        ("from=1&to=1&operator=99999999999", "must be at most 2147483647"),
    ],
)
def test_integers_beyond_the_column_range_in_a_search_are_field_errors(client, bearer, query, message):
    error = json_error(client.get(f"/api/v1/trips/search?{query}", headers=bearer()), 422)
    assert message in str(error["fields"]).lower()


def test_out_of_range_stops_on_a_seat_map_are_field_errors(client, bearer, line):
    error = json_error(client.get(f"/api/v1/trips/{line.id}/seats?from=2361183241434822606848", headers=bearer()), 422)
    assert "from" in error["fields"]


@pytest.mark.parametrize("path", ["/holds", "/orders", "/tickets/verify"])
@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT])
def test_json_nested_thousands_deep_is_a_400(client, bearer, path, body):
    headers = bearer("driver")
    before = rows()
    response = client.post(f"/api/v1{path}", data=body, content_type="application/json", headers=headers)
    assert "nested more than 32 levels" in json_error(response, 400)["message"]
    assert rows() == before


@pytest.mark.parametrize("path", ["/api/v1/auth/token", "/osmand", "/api/v1/positions/osmand"])
def test_json_nested_thousands_deep_is_a_400_without_signing_in(client, path):
    response = client.post(path, data=DEEP, content_type="application/json")
    assert "nested more than 32 levels" in json_error(response, 400)["message"]


def test_json_nested_just_past_the_limit_is_refused_and_at_the_limit_is_read(client):
    inside = {"device_id": "no-such-device", "location": {"coords": {"latitude": -1.9, "longitude": 30.1}}}
    at_limit = {"extra": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]], **inside}  # 32 deep
    assert "Unknown device" in json_error(client.post("/osmand", json=at_limit), 400)["message"]
    past = {**at_limit, "extra": [at_limit["extra"]]}
    assert "nested more than" in json_error(client.post("/osmand", json=past), 400)["message"]


def test_a_list_where_a_station_id_belongs_is_a_field_error(client, bearer, line):
    body = {"trip_id": line.id, "from": [], "seats": ["1A"], "passengers": [{"name": "Aline"}]}
    headers = bearer()
    before = rows()
    error = json_error(client.post("/api/v1/orders", json=body, headers=headers), 422)
    assert error["fields"] == {"from": ["Must be an integer."]}
    assert rows() == before
    assert db.session.scalar(select(func.count(Order.id))) == 0


@pytest.mark.parametrize("target", ["/admin/%0d%0aSet-Cookie:x=1", "/console/%0A", "%0A/", "/%00", "/%09/"])
def test_a_newline_in_next_at_sign_in_lands_on_the_home_page(client, target):
    user = factories.user()
    response = client.submit(f"/login?next={target}", {"email": user.email, "password": factories.PASSWORD})
    assert response.status_code == 302 and response.location == "/"


# --- More of the same families -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/stations?q=%00",
        "/api/v1/stations?q%00=1",
        "/api/v1/trips/search?from=1&to=2&sort=%1b",
        "/api/v1/companies/x/gtfs-rt/vehicle-positions?format=%7f",
    ],
)
def test_control_characters_in_an_api_query_are_a_400(client, bearer, path):
    assert json_error(client.get(path, headers=bearer()), 400)["code"] == "bad_request"


def test_control_characters_in_portal_queries_and_forms_are_a_400_page(client, login_as):
    page_error(client.get("/search?origin=Kigali%0d%0a&destination=Huye"), 400)
    page_error(client.get("/?x=%c2%85"), 400)  # a C1 control (NEL)
    before = rows()
    page_error(client.submit("/signup", {"name": "A\x00", "email": "a@b.rw", "password": "x" * 12}), 400)
    page_error(client.submit("/login", {"email": "a@b.rw\x00", "password": "x"}), 400)
    assert rows() == before
    login_as("customer")
    page_error(client.get("/orders/%00"), 404)
    page_error(client.get("/checkout/%01"), 404)
    page_error(client.get("/tickets/%00/ticket.pdf"), 404)


def test_line_breaks_in_a_one_line_form_field_are_a_field_error(client):
    before = rows()
    response = client.submit(
        "/signup",
        {
            "name": "Aline\nUwase",
            "email": "aline@example.rw",
            "password": "a-long-password",
            "confirm": "a-long-password",
        },
    )
    assert response.status_code == 422 and "one line" in response.get_data(as_text=True)
    assert rows() == before


@pytest.mark.parametrize(
    "path",
    [
        "/console/trips?route=1180591620717411303424",
        "/console/trips?date=9999-12-31",
        "/console/trips?date=0001-01-01",
        "/console/payments?page=99999999999999999999999",
        "/console/payments?until=9999-12-31",
        "/console/audit?until=9999-12-31",
        "/console/notifications?page=%C2%B2&company=99999999999999",
    ],
)
def test_out_of_range_numbers_and_days_in_console_queries_are_ignored(client, login_as, path):
    login_as("admin")
    assert client.get(path).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/admin/payments?company=99999999999999999999",
        "/admin/payments?company=%C2%B2",
        "/admin/notifications?page=%C2%B2",
    ],
)
def test_out_of_range_numbers_in_admin_queries_are_ignored(client, login_as, path):
    login_as("super_admin")
    assert client.get(path).status_code == 200


def test_out_of_range_numbers_in_portal_queries_are_ignored(client, login_as, line):
    assert client.get(f"/trips/{line.id}?from=1180591620717411303424").status_code == 200
    login_as("customer")
    assert client.get("/notifications?page=1180591620717411303424").status_code == 200


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "2100-01-01"])
def test_a_day_we_cannot_compute_with_is_a_field_error(client, bearer, line, day):
    error = json_error(client.get(f"/api/v1/trips/search?from=1&to=2&date={day}", headers=bearer()), 422)
    assert "date" in error["fields"]
    response = client.get(f"/search?origin=Kigali&destination=Huye&date={day}")
    assert response.status_code == 422


def test_a_bad_idempotency_key_is_a_400(client, bearer):
    headers = {**bearer(), "Idempotency-Key": "key\x01"}
    error = json_error(
        client.post("/api/v1/orders/NOSUCH/payments", json={"provider": "sandbox"}, headers=headers), 400
    )
    assert error["code"] == "idempotency_key_missing"


def test_a_share_token_with_control_characters_is_refused_before_the_socket(client):
    response = client.get("/ws/trips/1?share=%00", headers={"Connection": "Upgrade", "Upgrade": "websocket"})
    assert response.status_code == 400


def test_a_deep_or_odd_momo_callback_is_refused_or_kept_without_a_500(client):
    response = client.put("/api/v1/webhooks/momo/abc", data=DEEP, content_type="application/json")
    json_error(response, 400)
    assert client.put("/api/v1/webhooks/momo/%00", json={}).status_code == 404
    assert db.session.scalar(select(func.count(Hold.id))) == 0
