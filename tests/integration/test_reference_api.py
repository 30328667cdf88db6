"""The faithful reference deployment answers exactly as public-docs.md parts A and B say."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tixallo_qa.core import spec
from tixallo_qa.reference.testing import ReferenceDeployment

pytestmark = pytest.mark.integration

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


@pytest.fixture(scope="module")
def ref(reference_deployment: ReferenceDeployment) -> ReferenceDeployment:
    return reference_deployment


@pytest.fixture(scope="module")
def client(ref: ReferenceDeployment) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=ref.base_url, headers=ref.headers(), timeout=10, trust_env=False
    ) as c:
        yield c


@pytest.fixture(scope="module")
def other(ref: ReferenceDeployment) -> Iterator[httpx.Client]:
    headers = ref.headers(ref.settings["TIXALLO_OTHER_API_KEY"])
    with httpx.Client(base_url=ref.base_url, headers=headers, timeout=10, trust_env=False) as c:
        yield c


def limits(component: str, field: str) -> dict[str, Any]:
    return dict(spec.component(component)["properties"][field])


def ticket_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "subject": "Cannot log in",
        "description": "I keep getting redirected.",
        "customer_email": f"user-{uuid.uuid4().hex[:10]}@example.com",
        "customer_name": "Alex Example",
        "priority": "high",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def create(client: httpx.Client, **overrides: Any) -> dict[str, Any]:
    response = client.post("/tickets", json=ticket_body(**overrides))
    assert response.status_code == 201, response.text
    return dict(response.json()["data"])


def assert_invalid(response: httpx.Response, field: str | None) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "Invalid input"
    assert set(body["details"]) == {"fieldErrors", "formErrors"}
    if field is not None:
        assert list(body["details"]["fieldErrors"]) == [field], body
    return dict(body["details"])


def email_of_length(n: int) -> str:
    """A valid address exactly ``n`` characters long."""
    local = "a" * 64
    remaining = n - len(local) - 1 - len(".com")
    labels = []
    while remaining > 0:
        size = min(63, remaining)
        if remaining - size == 1:  # avoid a leftover that would need an empty label
            size -= 1
        labels.append("b" * size)
        remaining -= size + 1
    address = f"{local}@{'.'.join(labels)}.com"
    assert len(address) == n, len(address)
    return address


# -- creating ------------------------------------------------------------------------------------


def test_create_returns_the_ticket_with_documented_defaults(client: httpx.Client) -> None:
    ticket = create(client, priority=None, customer_name=None)
    assert ticket["priority"] == spec.component("Priority")["default"]
    assert ticket["status"] == "new"
    assert ticket["source"] == "api"
    assert ticket["ticket_number"] >= 1
    assert uuid.UUID(ticket["id"]) and uuid.UUID(ticket["customer_id"])
    assert TIMESTAMP.fullmatch(ticket["created_at"])
    assert ticket["created_at"] == ticket["updated_at"]
    assert spec.validator("#/components/schemas/Ticket").is_valid(ticket)


@pytest.mark.parametrize(
    ("field", "component"),
    [
        ("subject", "CreateTicketRequest"),
        ("description", "CreateTicketRequest"),
        ("customer_name", "CreateTicketRequest"),
    ],
)
def test_string_limits_at_their_boundaries(
    client: httpx.Client, field: str, component: str
) -> None:
    prop = limits(component, field)
    top = prop["maxLength"]
    ok = client.post("/tickets", json=ticket_body(**{field: "x" * top}))
    assert ok.status_code == 201, ok.text
    if field != "customer_name":
        assert ok.json()["data"][field] == "x" * top
    details = assert_invalid(
        client.post("/tickets", json=ticket_body(**{field: "x" * (top + 1)})), field
    )
    assert details["fieldErrors"][field] == [f"String must contain at most {top} character(s)"]
    assert_invalid(client.post("/tickets", json=ticket_body(**{field: ""})), field)


def test_email_limit_and_format(client: httpx.Client) -> None:
    def post(email: str) -> httpx.Response:
        return client.post("/tickets", json=ticket_body(customer_email=email))

    top = limits("CreateTicketRequest", "customer_email")["maxLength"]
    assert post(email_of_length(top)).status_code == 201
    assert_invalid(post(email_of_length(top + 1)), "customer_email")
    for bad in ("not-an-email", "a@", "@b.com", "a b@c.com", "a@b..com", "useratexample.com"):
        details = assert_invalid(post(bad), "customer_email")
        assert details["fieldErrors"]["customer_email"] == ["Invalid email"]
    for good in (
        "o'brien+tag@example.co.uk",
        "!#$%&*+/=?^_`{|}~-@x.io",
        "first.last@sub.example.org",
    ):
        assert post(good).status_code == 201, good


def test_priority_enum(client: httpx.Client) -> None:
    for value in spec.component("Priority")["enum"]:
        assert create(client, priority=value)["priority"] == value
    assert_invalid(client.post("/tickets", json=ticket_body(priority="critical")), "priority")
    assert_invalid(client.post("/tickets", json=ticket_body(priority=3)), "priority")


def test_required_fields_and_form_errors(client: httpx.Client) -> None:
    details = assert_invalid(client.post("/tickets", json={}), None)
    assert details["fieldErrors"] == {
        f: ["Required"] for f in ("subject", "description", "customer_email")
    }
    assert details["formErrors"] == []
    details = assert_invalid(client.post("/tickets", json=["a"]), None)
    assert details["fieldErrors"] == {} and details["formErrors"]


def test_malformed_json_and_unknown_fields(client: httpx.Client) -> None:
    response = client.post(
        "/tickets", content=b'{"subject": ', headers={"Content-Type": "application/json"}
    )
    assert (response.status_code, response.json()) == (400, {"error": "Invalid JSON"})
    ticket = create(client, surprise="ignored")
    assert "surprise" not in ticket


# -- reading -------------------------------------------------------------------------------------


def test_get_returns_customer_and_description_as_first_message(client: httpx.Client) -> None:
    body = ticket_body(customer_name="Robin")
    created = client.post("/tickets", json=body).json()["data"]
    got = client.get(f"/tickets/{created['id']}")
    assert got.status_code == 200
    data = got.json()["data"]
    assert {k: data[k] for k in created} == created
    assert data["customer"] == {"name": "Robin", "email": body["customer_email"], "company": None}
    [first] = data["messages"]
    assert first["author_type"] == "customer"
    assert first["body"] == body["description"]
    assert first["created_at"] == created["created_at"]
    assert spec.validator("#/components/schemas/TicketDetailEnvelope").is_valid(got.json())


def test_messages_are_appended_oldest_first(client: httpx.Client) -> None:
    ticket = create(client)
    posted = []
    for text in ("second", "third"):
        response = client.post(
            f"/tickets/{ticket['id']}/messages", json={"body": text, "author_type": "agent"}
        )
        assert response.status_code == 201, response.text
        message = response.json()["data"]
        assert message["author_type"] == "customer" and message["body"] == text
        assert uuid.UUID(message["id"]) and TIMESTAMP.fullmatch(message["created_at"])
        posted.append(message)
    data = client.get(f"/tickets/{ticket['id']}").json()["data"]
    assert [m["body"] for m in data["messages"]] == [ticket["description"], "second", "third"]
    assert data["messages"][1:] == posted
    assert data["updated_at"] == posted[-1]["created_at"]


def test_message_body_limits(client: httpx.Client) -> None:
    ticket = create(client)
    top = limits("AddMessageRequest", "body")["maxLength"]
    url = f"/tickets/{ticket['id']}/messages"
    assert client.post(url, json={"body": "y" * top}).status_code == 201
    assert_invalid(client.post(url, json={"body": "y" * (top + 1)}), "body")
    assert_invalid(client.post(url, json={"body": ""}), "body")
    assert_invalid(client.post(url, json={}), "body")


def test_listing_newest_first_with_limit(client: httpx.Client) -> None:
    made = [create(client, subject=f"order {i}") for i in range(3)]
    listed = client.get("/tickets", params={"limit": 3}).json()["data"]
    assert [t["id"] for t in listed] == [t["id"] for t in reversed(made)]
    numbers = [t["ticket_number"] for t in made]
    assert numbers == sorted(numbers) and len(set(numbers)) == 3


def test_limit_default_bounds_and_rejections(client: httpx.Client) -> None:
    rule = spec.limit_parameter()
    for _ in range(rule["default"] + 1):
        create(client)

    def listed(**params: Any) -> int:
        return len(client.get("/tickets", params=params).json()["data"])

    assert listed() == rule["default"]
    assert listed(limit=rule["minimum"]) == rule["minimum"]
    assert listed(limit=rule["maximum"]) <= rule["maximum"]
    assert listed(limit=21, status="closed", cursor="x", page=2) == 21
    for bad in (rule["minimum"] - 1, rule["maximum"] + 1, "abc", "1.5", "", "-1", " 5"):
        assert_invalid(client.get("/tickets", params={"limit": bad}), "limit")


def test_merged_ticket(client: httpx.Client, ref: ReferenceDeployment) -> None:
    merged_id = ref.settings["TIXALLO_MERGED_TICKET_ID"]
    assert client.get(f"/tickets/{merged_id}").status_code == 200
    listed = client.get("/tickets", params={"limit": 50}).json()["data"]
    assert merged_id not in {t["id"] for t in listed}
    response = client.post(f"/tickets/{merged_id}/messages", json={"body": "hello"})
    assert (response.status_code, response.json()) == (409, {"error": "Ticket has been merged"})
    # An invalid body is a 400 even for a merged ticket (part B 13).
    assert_invalid(client.post(f"/tickets/{merged_id}/messages", json={"body": ""}), "body")


def test_internal_note_never_returned(client: httpx.Client, ref: ReferenceDeployment) -> None:
    marker = ref.settings["TIXALLO_INTERNAL_NOTE_MARKER"]
    noted = client.get(f"/tickets/{ref.settings['TIXALLO_NOTED_TICKET_ID']}")
    assert noted.status_code == 200
    assert marker not in noted.text
    assert all(m["author_type"] == "customer" for m in noted.json()["data"]["messages"])
    assert marker not in client.get("/tickets", params={"limit": 50}).text


def test_customer_reused_by_email_and_name_kept(client: httpx.Client) -> None:
    email = f"reuse-{uuid.uuid4().hex[:8]}@example.com"
    first = create(client, customer_email=email, customer_name="Original")
    second = create(client, customer_email=email, customer_name="Renamed")
    assert first["customer_id"] == second["customer_id"]
    customer = client.get(f"/tickets/{second['id']}").json()["data"]["customer"]
    assert customer == {"name": "Original", "email": email, "company": None}
    nameless = create(client, customer_name=None)
    assert client.get(f"/tickets/{nameless['id']}").json()["data"]["customer"]["name"] is None


def test_workspace_isolation(client: httpx.Client, other: httpx.Client) -> None:
    email = f"shared-{uuid.uuid4().hex[:8]}@example.com"
    mine = create(client, customer_email=email)
    theirs = create(other, customer_email=email)
    assert theirs["customer_id"] != mine["customer_id"]
    assert other.get(f"/tickets/{mine['id']}").json() == {"error": "Not found"}
    assert other.get(f"/tickets/{mine['id']}").status_code == 404
    assert other.post(f"/tickets/{mine['id']}/messages", json={"body": "x"}).status_code == 404
    for reader, foreign in ((other, mine), (client, theirs)):
        listed = reader.get("/tickets", params={"limit": 50}).json()["data"]
        assert foreign["id"] not in {t["id"] for t in listed}


# -- authentication and error answers ------------------------------------------------------------


def test_authentication(ref: ReferenceDeployment) -> None:
    key = ref.api_key
    answers = {}
    cases = {
        "missing": {},
        "token scheme": {"Authorization": f"Token {key}"},
        "basic": {"Authorization": f"Basic {key}"},
        "bare key": {"Authorization": key},
        "empty bearer": {"Authorization": "Bearer"},
        "unknown": {"Authorization": "Bearer txk_unknown"},
        "revoked": {"Authorization": f"Bearer {ref.settings['TIXALLO_REVOKED_API_KEY']}"},
    }
    with httpx.Client(base_url=ref.base_url, trust_env=False) as c:
        for name, headers in cases.items():
            response = c.get("/tickets", headers=headers)
            answers[name] = (response.status_code, response.json())
        # Any case of the scheme works, and so does every pool key (the first is ``key``).
        accepted = [f"bearer {key}", f"BEARER {key}", *(f"Bearer {k}" for k in ref.api_keys)]
        for authorization in accepted:
            response = c.get("/tickets", headers={"Authorization": authorization})
            assert response.status_code == 200, authorization
    assert answers == {name: (401, {"error": "Unauthorized"}) for name in cases}


def test_unknown_and_malformed_ticket_ids_are_404(client: httpx.Client) -> None:
    for ticket_id in (
        str(uuid.uuid4()),
        "not-a-uuid",
        "1",
        "%00",
        "9f6c1a3e-2b8d-4e7f-9a1c-d4b2e6c8a1b3x",
    ):
        response = client.get(f"/tickets/{ticket_id}")
        assert (response.status_code, response.json()) == (404, {"error": "Not found"}), ticket_id
        assert client.post(f"/tickets/{ticket_id}/messages", json={"body": "x"}).status_code == 404


def test_unknown_paths_and_methods_come_before_auth(ref: ReferenceDeployment) -> None:
    ticket = f"/tickets/{uuid.uuid4()}"
    with httpx.Client(base_url=ref.base_url, trust_env=False) as c:
        for path in ("/nope", "/tickets/", f"{ticket}/messages/x", "/customers"):
            response = c.get(path)
            assert (response.status_code, response.json()) == (404, {"error": "Not found"}), path
        for method, path, allow in [
            ("DELETE", "/tickets", {"GET", "HEAD", "POST"}),
            ("PUT", ticket, {"GET", "HEAD"}),
            ("PATCH", ticket, {"GET", "HEAD"}),
            ("GET", f"{ticket}/messages", {"POST"}),
            ("OPTIONS", "/tickets", {"GET", "HEAD", "POST"}),
        ]:
            response = c.request(method, path)
            assert response.status_code == 405, (method, path)
            assert {m.strip() for m in response.headers["allow"].split(",")} == allow
            assert "error" in response.json()


def test_auth_comes_before_validation(ref: ReferenceDeployment) -> None:
    with httpx.Client(base_url=ref.base_url, trust_env=False) as c:
        assert c.post("/tickets", json={}).status_code == 401
        assert c.get("/tickets", params={"limit": "abc"}).status_code == 401
        assert c.post(f"/tickets/{uuid.uuid4()}/messages", content=b"{").status_code == 401


def test_fifty_concurrent_creates_get_distinct_increasing_numbers(ref: ReferenceDeployment) -> None:
    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(
            base_url=ref.base_url, headers=ref.headers(), timeout=30, trust_env=False
        ) as c:
            return await asyncio.gather(
                *(c.post("/tickets", json=ticket_body(subject=f"burst {i}")) for i in range(50))
            )

    responses = asyncio.run(burst())
    assert [r.status_code for r in responses] == [201] * 50
    tickets = [r.json()["data"] for r in responses]
    numbers = [t["ticket_number"] for t in tickets]
    assert len(set(numbers)) == 50
    assert max(numbers) - min(numbers) == 49
    # Creation order, as the list shows it (newest first), agrees with the numbers.
    with httpx.Client(base_url=ref.base_url, headers=ref.headers(), trust_env=False) as c:
        listed = c.get("/tickets", params={"limit": 50}).json()["data"]
    listed_numbers = [t["ticket_number"] for t in listed]
    assert listed_numbers == sorted(listed_numbers, reverse=True)
