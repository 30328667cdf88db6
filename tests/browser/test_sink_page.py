"""The sink's live page in real headless Chromium: it lists deliveries and shows new ones without reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tixallo_qa.webhook_sink.testing import SinkFixture, message_created, ticket_created

pytestmark = pytest.mark.browser


def test_page_shows_deliveries_and_new_ones_without_reload(
    browser: Browser, webhook_sink: SinkFixture
) -> None:
    first, bad = ticket_created(), ticket_created()
    webhook_sink.deliver(first)
    webhook_sink.deliver(bad, secret="wrong")
    webhook_sink.client.mark(
        "ticket.created",
        ticket_id=first["ticket_id"],
        action_at=webhook_sink.client.events()[0].received_at - 0.12,
    )
    page = browser.new_page()
    try:
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        # Without the token the page says how to open it, and shows no record.
        page.goto(webhook_sink.url + "/")
        expect(page.locator("h1")).to_have_text("This webhook sink needs its token")
        assert bad["ticket_id"] not in page.content()
        # With it, the sink sets the page's cookie and drops the token from the address bar.
        page.goto(webhook_sink.url + f"/?token={webhook_sink.token}")
        assert page.url == webhook_sink.url + "/"
        rows = page.locator("#events tr")
        expect(rows).to_have_count(2, timeout=10_000)
        newest, oldest = rows.nth(0), rows.nth(1)
        expect(newest.locator(".ticket")).to_have_text(bad["ticket_id"])
        expect(newest.locator(".verdict")).to_contain_text("bad signature")
        expect(oldest.locator(".verdict")).to_contain_text("valid")
        expect(oldest.locator(".event")).to_have_text("ticket.created")
        expect(oldest.locator(".lag")).to_have_text("120 ms")
        expect(page.locator("#count-total")).to_have_text("2")
        expect(page.locator("#count-rejected")).to_have_text("1")
        expect(page.locator("#endpoint")).to_have_text(webhook_sink.webhook_url)

        # A marker that a reload would wipe: the next rows must arrive without one.
        page.evaluate("window.__noReload = true")
        message = message_created(ticket_id=first["ticket_id"])
        webhook_sink.deliver(message)
        expect(rows).to_have_count(3, timeout=10_000)
        expect(rows.nth(0).locator(".message")).to_have_text(message["message_id"])
        expect(rows.nth(0).locator(".event")).to_have_text("ticket.message.created")
        expect(page.locator("#count-total")).to_have_text("3", timeout=10_000)
        assert page.evaluate("window.__noReload") is True

        webhook_sink.client.clear()
        expect(rows).to_have_count(0, timeout=10_000)
        expect(page.locator("#empty")).to_be_visible()
        assert errors == []
    finally:
        page.close()
