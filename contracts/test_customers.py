"""Customers: found again by email within a workspace, never shared across workspaces (family: customers)."""

from __future__ import annotations

from tixallo_qa.contracts._catalogue import check
from tixallo_qa.contracts._expect import Expect
from tixallo_qa.contracts._helpers import create_ticket, get_ticket, require, unique, unique_email
from tixallo_qa.contracts._transport import MAIN, OTHER, ApiClient
from tixallo_qa.core.settings import Settings


@check(
    "customer-found-by-email",
    "customers",
    "a second ticket with a known email gets the same customer_id",
)
def test_customer_found_again(api: ApiClient, expect: Expect) -> None:
    email = unique_email("again")
    first, a = create_ticket(api, expect, label="customer first", customer_email=email)
    second, b = create_ticket(api, expect, label="customer second", customer_email=email)
    expect.that(
        a["customer_id"] == b["customer_id"],
        "the same email within a workspace is the same customer",
        expected=a["customer_id"],
        actual=b["customer_id"],
        responses=[first, second],
    )


@check(
    "customer-name-only-for-new",
    "customers",
    "customer_name names a new customer and never renames a known one, one first created "
    "without a name included",
)
def test_customer_name_only_for_new(api: ApiClient, expect: Expect) -> None:
    email = unique_email("named")
    original, renamed = unique("original name")[:120], unique("other name")[:120]
    _, a = create_ticket(
        api, expect, label="customer named", customer_email=email, customer_name=original
    )
    response, detail = get_ticket(api, expect, a["id"])
    customer = detail.get("customer") or {}
    expect.equal(
        customer.get("name"),
        original,
        "customer_name is stored for a new customer",
        responses=[response],
    )
    _, b = create_ticket(
        api, expect, label="customer renamed", customer_email=email, customer_name=renamed
    )
    response, detail = get_ticket(api, expect, b["id"])
    customer = detail.get("customer") or {}
    expect.equal(
        customer.get("name"),
        original,
        "customer_name must not rename a customer that already exists",
        responses=[response],
    )
    expect.equal(
        customer.get("email"),
        email,
        "the ticket's customer is the one with that email",
        responses=[response],
    )
    # A customer first created without a name is a known one too: a later name does not stick.
    # (What name it has meanwhile, none or one made from its email, the docs leave open.)
    nameless, late = unique_email("nameless"), unique("late name")[:120]
    first, c = create_ticket(api, expect, label="customer nameless", customer_email=nameless)
    later, d = create_ticket(
        api, expect, label="customer named later", customer_email=nameless, customer_name=late
    )
    response, detail = get_ticket(api, expect, d["id"])
    customer = detail.get("customer") or {}
    expect.that(
        customer.get("name") != late and c.get("customer_id") == d.get("customer_id"),
        "customer_name must not name a known customer that was created without one",
        expected=f"customer {c.get('customer_id')}, not named {late!r}",
        actual=f"customer {d.get('customer_id')} named {customer.get('name')!r}",
        responses=[first, later, response],
    )


@check(
    "customer-not-shared-across-workspaces",
    "customers",
    "the same email in two workspaces is two customers",
)
def test_customer_not_shared(api: ApiClient, expect: Expect, target: Settings) -> None:
    require(target, "other_api_key")
    email = unique_email("shared")
    main_response, main = create_ticket(
        api,
        expect,
        identity=MAIN,
        label="customer main",
        customer_email=email,
        customer_name="Main Workspace Customer",
    )
    other_response, other = create_ticket(
        api,
        expect,
        identity=OTHER,
        label="customer other",
        customer_email=email,
        customer_name="Other Workspace Customer",
    )
    expect.that(
        main["customer_id"] != other["customer_id"],
        "a customer must not be shared across workspaces",
        expected="different customer_ids",
        actual=f"both {main['customer_id']}",
        responses=[main_response, other_response],
    )
    response, detail = get_ticket(api, expect, other["id"], identity=OTHER)
    name = (detail.get("customer") or {}).get("name")
    expect.equal(
        name,
        "Other Workspace Customer",
        "the other workspace's new customer takes its own customer_name",
        responses=[response],
    )
