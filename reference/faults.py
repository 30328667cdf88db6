"""The catalogue of planted faults: named switches that make the reference deployment break one rule."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    """One planted bug: its switch name, its family, the one rule it breaks, and its parameter.

    The same switch may stand in the catalogue more than once with other parameters (how slow,
    how many in flight, what share), so that no check is tuned to one planted number.
    """

    name: str
    family: str
    label: str
    param: float | None = None

    @property
    def plant(self) -> str:
        """What ``--fault`` takes to plant exactly this one: ``name`` or ``name=param``."""
        return self.name if self.param is None else f"{self.name}={self.param:g}"


FAMILIES = (
    "authentication",
    "isolation",
    "validation",
    "listing",
    "notes",
    "customers",
    "round-trip",
    "errors",
    "rate-limit",
    "webhooks",
    "load",
)

# fmt: off
CATALOGUE: tuple[Fault, ...] = (
    # authentication
    Fault("auth-revoked-key-accepted", "authentication", "Planted bug: a revoked API key is still accepted"),
    Fault("auth-any-scheme-accepted", "authentication", "Planted bug: a non-Bearer scheme (Token, Basic, bare key) is accepted"),
    Fault("auth-scheme-case-sensitive", "authentication", "Planted bug: the scheme name is case-sensitive, so 'bearer KEY' is a 401"),
    Fault("auth-missing-header-500", "authentication", "Planted bug: a request without Authorization answers 500 instead of 401"),
    Fault("auth-wrong-401-body", "authentication", "Planted bug: 401 body is {\"error\": \"Invalid API key\"} instead of Unauthorized"),
    Fault("auth-unknown-key-403", "authentication", "Planted bug: an unknown key answers 403 instead of 401"),
    # workspace isolation
    Fault("isolation-get-other-workspace", "isolation", "Planted bug: another workspace's ticket is readable by id"),
    Fault("isolation-message-other-workspace", "isolation", "Planted bug: a message can be posted to another workspace's ticket"),
    Fault("isolation-list-leaks", "isolation", "Planted bug: the list includes other workspaces' tickets"),
    Fault("isolation-customer-shared", "isolation", "Planted bug: customers are looked up by email across all workspaces"),
    # validation limits and defaults
    Fault("validation-subject-301-accepted", "validation", "Planted bug: subject maxLength is off by one (301 characters accepted)"),
    Fault("validation-subject-empty-accepted", "validation", "Planted bug: an empty subject is accepted"),
    Fault("validation-description-limit", "validation", "Planted bug: description maxLength is not enforced"),
    Fault("validation-email-unchecked", "validation", "Planted bug: customer_email is not checked to be an email"),
    Fault("validation-email-max-length", "validation", "Planted bug: customer_email maxLength is not enforced"),
    Fault("validation-customer-name-limit", "validation", "Planted bug: customer_name maxLength is not enforced"),
    Fault("validation-priority-enum", "validation", "Planted bug: any priority string is accepted and stored"),
    Fault("validation-priority-default", "validation", "Planted bug: a missing priority defaults to 'low' instead of the spec default"),
    Fault("validation-body-limit", "validation", "Planted bug: message body maxLength is not enforced"),
    Fault("validation-body-empty-accepted", "validation", "Planted bug: an empty message body is accepted"),
    Fault("validation-required-missing", "validation", "Planted bug: a create without customer_email is accepted"),
    Fault("validation-limit-bounds", "validation", "Planted bug: limit outside the spec's bounds is clamped instead of rejected"),
    Fault("validation-limit-default", "validation", "Planted bug: the default limit is 10 instead of the spec default"),
    Fault("validation-422", "validation", "Planted bug: validation failures answer 422 instead of 400"),
    Fault("validation-field-errors-shape", "validation", "Planted bug: fieldErrors is a list of {field, message} instead of a map"),
    Fault("validation-invalid-json-500", "validation", "Planted bug: a malformed JSON body answers 500 instead of 400"),
    # listing
    Fault("list-oldest-first", "listing", "Planted bug: lists tickets oldest first instead of newest first"),
    Fault("list-limit-off-by-one", "listing", "Planted bug: the list returns limit + 1 tickets"),
    Fault("list-merged-included", "listing", "Planted bug: merged tickets are included in the list"),
    Fault("list-limit-ignored", "listing", "Planted bug: the limit parameter is validated but ignored (always the default)"),
    # internal notes
    Fault("notes-returned", "notes", "Planted bug: internal notes are returned in messages with author_type 'internal'"),
    Fault("notes-as-agent-message", "notes", "Planted bug: internal notes are returned as public 'agent' messages"),
    Fault("notes-marker-in-description", "notes", "Planted bug: a ticket's internal notes are appended to its description on reads"),
    # customers
    Fault("customer-duplicated", "customers", "Planted bug: a new customer is created for every ticket, even for a known email"),
    Fault("customer-name-overwritten", "customers", "Planted bug: customer_name overwrites an existing customer's name"),
    Fault("customer-name-ignored", "customers", "Planted bug: customer_name is not stored for a new customer"),
    # round trip
    Fault("roundtrip-subject-trimmed", "round-trip", "Planted bug: the stored subject is stripped of surrounding whitespace"),
    Fault("roundtrip-subject-truncated", "round-trip", "Planted bug: the stored subject is truncated to 255 characters"),
    Fault("roundtrip-priority-dropped", "round-trip", "Planted bug: the given priority is dropped and the default stored"),
    Fault("roundtrip-description-not-first-message", "round-trip", "Planted bug: the description does not become the first message"),
    Fault("roundtrip-message-author-agent", "round-trip", "Planted bug: posted messages are recorded with author_type 'agent'"),
    Fault("roundtrip-messages-newest-first", "round-trip", "Planted bug: messages are returned newest first instead of oldest first"),
    Fault("roundtrip-status-open", "round-trip", "Planted bug: a new API ticket has status 'open' instead of 'new'"),
    Fault("roundtrip-source-web", "round-trip", "Planted bug: a new API ticket has source 'web' instead of 'api'"),
    Fault("roundtrip-timestamp-no-zone", "round-trip", "Planted bug: timestamps lack the 'Z' zone designator (not RFC 3339)"),
    # error bodies and status codes
    Fault("errors-404-body", "errors", "Planted bug: 404 body is {\"message\": \"Not Found\"} instead of {\"error\": \"Not found\"}"),
    Fault("errors-merged-400", "errors", "Planted bug: posting to a merged ticket answers 400 instead of 409"),
    Fault("errors-merged-accepted", "errors", "Planted bug: posting to a merged ticket is accepted (201) instead of 409"),
    Fault("errors-merged-get-404", "errors", "Planted bug: a merged ticket is not readable by id (404 instead of 200)"),
    Fault("errors-non-uuid-500", "errors", "Planted bug: a ticket id that is not a UUID answers 500"),
    Fault("errors-warm-up-500", "errors", "Planted bug: the first authenticated requests after a start answer 500 (a warm-up defect: a re-run passes)", 10),
    Fault("errors-warm-up-500", "errors", "Planted bug: the first authenticated requests after a start answer 500 (a warm-up defect: a re-run passes)", 40),
    Fault("errors-405-no-allow", "errors", "Planted bug: 405 answers lack the Allow header"),
    Fault("errors-unknown-path-text", "errors", "Planted bug: an unknown path answers a plain-text 404 instead of the JSON body"),
    Fault("errors-check-order", "errors", "Planted bug: the merged check runs before body validation (invalid body to merged = 409)"),
    # rate limit
    Fault("ratelimit-none", "rate-limit", "Planted bug: the per-key rate limit is not enforced"),
    Fault("ratelimit-shared", "rate-limit", "Planted bug: one rate-limit budget is shared by all keys"),
    Fault("ratelimit-no-retry-after", "rate-limit", "Planted bug: 429 answers lack the Retry-After header"),
    Fault("ratelimit-wrong-body", "rate-limit", "Planted bug: 429 body is {\"error\": \"Too many requests\"} without limit/window_seconds"),
    Fault("ratelimit-401-counted", "rate-limit", "Planted bug: unauthenticated (401) requests use up every key's budget"),
    # webhooks
    Fault("webhook-created-missing", "webhooks", "Planted bug: ticket.created is never sent"),
    Fault("webhook-message-missing", "webhooks", "Planted bug: ticket.message.created is never sent"),
    Fault("webhook-payload-wrong-value", "webhooks", "Planted bug: the payload's ticket_number differs from the API's by one"),
    Fault("webhook-payload-nested", "webhooks", "Planted bug: payload fields sit under 'data' instead of at the top level"),
    Fault("webhook-bad-signature", "webhooks", "Planted bug: the signature is computed over other bytes than the body sent (a trailing space)"),
    Fault("webhook-stale-timestamp", "webhooks", "Planted bug: X-Tixallo-Timestamp is 10 minutes in the past"),
    Fault("webhook-late", "webhooks", "Planted bug: webhooks are sent 15 s after the event"),
    Fault("webhook-rejected-fired", "webhooks", "Planted bug: a rejected (400) create still fires ticket.created"),
    Fault("webhook-cross-workspace", "webhooks", "Planted bug: events go to every workspace's endpoints, not just the ticket's"),
    Fault("webhook-double-fire", "webhooks", "Planted bug: every event is delivered twice with different delivery ids"),
    Fault("webhook-retry-new-id", "webhooks", "Planted bug: a retried delivery gets a new X-Tixallo-Delivery id"),
    Fault("webhook-description-message-event", "webhooks", "Planted bug: creating a ticket also fires ticket.message.created for the description"),
    # one oracle broken on one path or channel only (issue 12); numbers vary so no check is tuned to one
    Fault("notes-marker-in-webhook", "notes", "Planted bug: ticket.message.created for a ticket with internal notes carries them (internal_notes)"),
    Fault("notes-marker-in-header", "notes", "Planted bug: reading a ticket with internal notes sends them in an X-Ticket-Notes header"),
    Fault("notes-marker-in-error", "notes", "Planted bug: a 400 for a message to a ticket with internal notes echoes those notes in its details"),
    Fault("isolation-list-leak-small", "isolation", "Planted bug: a list of at most 5 tickets ends with the other workspace's newest ticket", 5),
    Fault("isolation-list-leak-small", "isolation", "Planted bug: a list of at most 20 tickets (the default one too) ends with the other workspace's newest ticket", 20),
    Fault("roundtrip-author-agent-older", "round-trip", "Planted bug: in a conversation read by id, posted messages older than the newest show author_type 'agent'"),
    Fault("roundtrip-message-offset", "round-trip", "Planted bug: messages read with their ticket carry a +02:00 offset instead of Z (same instant)", 2),
    Fault("roundtrip-message-offset", "round-trip", "Planted bug: messages read with their ticket carry a -05:00 offset instead of Z (same instant)", -5),
    Fault("roundtrip-message-before-ticket", "round-trip", "Planted bug: reading a ticket shows its first message stamped 2 s before the ticket", 2),
    Fault("roundtrip-message-before-ticket", "round-trip", "Planted bug: reading a ticket shows its first message stamped 30 s before the ticket", 30),
    Fault("ticket-number-reused", "round-trip", "Planted bug: every 7th ticket of a workspace reuses the previous ticket's number", 7),
    Fault("ticket-number-reused", "round-trip", "Planted bug: every 23rd ticket of a workspace reuses the previous ticket's number", 23),
    Fault("roundtrip-get-priority-urgent", "round-trip", "Planted bug: reading an 'urgent' ticket by id shows its priority as 'high'"),
    Fault("list-updated-before-created", "listing", "Planted bug: the list shows updated_at 1 s before created_at", 1),
    Fault("list-updated-before-created", "listing", "Planted bug: the list shows updated_at an hour before created_at", 3600),
    Fault("list-subject-truncated", "listing", "Planted bug: the list shows subjects cut to 100 characters", 100),
    Fault("list-subject-truncated", "listing", "Planted bug: the list shows subjects cut to 255 characters", 255),
    Fault("list-oldest-first-small", "listing", "Planted bug: a list of at most 3 tickets holds the oldest ones, oldest first", 3),
    Fault("list-oldest-first-small", "listing", "Planted bug: a list of at most 10 tickets holds the oldest ones, oldest first", 10),
    Fault("list-priority-capitalized", "listing", "Planted bug: the list shows priorities capitalized ('High'), outside the spec's enum"),
    Fault("list-updated-at-stale", "listing", "Planted bug: the list shows updated_at as created_at, even after new messages"),
    Fault("webhook-author-agent", "webhooks", "Planted bug: ticket.message.created says author_type 'agent' for a customer's message"),
    Fault("webhook-timestamp-offset", "webhooks", "Planted bug: ticket.created's created_at carries a +01:00 offset instead of Z (same instant)", 1),
    Fault("webhook-timestamp-offset", "webhooks", "Planted bug: ticket.created's created_at carries a +09:00 offset instead of Z (same instant)", 9),
    Fault("webhook-subject-trimmed", "webhooks", "Planted bug: ticket.created carries the subject stripped of surrounding whitespace"),
    Fault("ratelimit-retry-after-lie", "rate-limit", "Planted bug: Retry-After says a tenth of the window, so a client that waits that long is refused again", 0.1),
    Fault("ratelimit-retry-after-lie", "rate-limit", "Planted bug: Retry-After says half the window, so a client that waits that long is refused again", 0.5),
    Fault("ratelimit-retry-after-lie", "rate-limit", "Planted bug: Retry-After says three windows, longer than the window_seconds it sends", 3),
    Fault("ratelimit-status-not-counted", "rate-limit", "Planted bug: requests answered 400 do not count against the key's budget", 400),
    Fault("ratelimit-status-not-counted", "rate-limit", "Planted bug: requests answered 404 do not count against the key's budget", 404),
    Fault("ratelimit-early-retry-served", "rate-limit", "Planted bug: once the budget is spent, every 2nd refused request is served anyway", 2),
    Fault("ratelimit-early-retry-served", "rate-limit", "Planted bug: once the budget is spent, every 3rd refused request is served anyway", 3),
    Fault("validation-limit-parse-int", "validation", "Planted bug: limit is read like parseInt: leading digits count, the rest is ignored (limit=5abc is 5)"),
    Fault("validation-limit-number", "validation", "Planted bug: limit is read like Number(): decimals, exponents and hex of an integer count (limit=1e1 is 10), an empty one is the default"),
    Fault("validation-limit-unicode", "validation", "Planted bug: limit is read like Python's int(): any script's digits and underscores count (limit=1_0 is 10)"),
    Fault("validation-priority-case", "validation", "Planted bug: priority is matched ignoring case and surrounding spaces ('HIGH' is stored as 'high')"),
    Fault("validation-name-coerced", "validation", "Planted bug: a number or boolean given as customer_name is accepted and stored as text"),
    Fault("validation-json-trailing", "validation", "Planted bug: addMessage reads the first JSON value of its body and ignores what follows it"),
    Fault("validation-email-display-name", "validation", "Planted bug: customer_email 'Name <addr>' is accepted and the address inside it stored"),
    Fault("errors-uuid-prefix", "errors", "Planted bug: a ticket id with extra characters after the UUID finds the ticket"),
    # load-only
    Fault("load-slow-reads", "load", "Planted bug: list and get sleep 300-800 ms"),
    # ... a few milliseconds over a latency SLO: only an exact percentile fails them
    Fault("load-slow-list", "load", "Planted bug: every list takes 302 ms (2 ms over the p95 SLO)", 302),
    Fault("load-slow-list", "load", "Planted bug: every list takes 306 ms (6 ms over the p95 SLO)", 306),
    Fault("load-slow-list", "load", "Planted bug: every list takes 330 ms (30 ms over the p95 SLO)", 330),
    Fault("load-slow-create", "load", "Planted bug: every create takes 304 ms (4 ms over the p95 SLO)", 304),
    Fault("load-slow-create", "load", "Planted bug: every create takes 318 ms (18 ms over the p95 SLO)", 318),
    Fault("load-slow-get-tail", "load", "Planted bug: 3% of gets take 810 ms (10 ms over the p99 SLO)", 810),
    Fault("load-slow-get-tail", "load", "Planted bug: 3% of gets take 900 ms (100 ms over the p99 SLO)", 900),
    # ... errors that need several requests in flight, or come in bursts
    Fault("load-5xx-under-concurrency", "load", "Planted bug: 500 when more than 4 requests are in flight"),
    Fault("load-5xx-under-concurrency", "load", "Planted bug: 500 when more than 8 requests are in flight", 8),
    Fault("load-5xx-under-concurrency", "load", "Planted bug: 500 when more than 12 requests are in flight", 12),
    Fault("load-503-burst", "load", "Planted bug: every request answers 503 for 250 ms every 2 s", 2),
    Fault("load-503-burst", "load", "Planted bug: every request answers 503 for 250 ms every 5 s", 5),
    Fault("load-connection-reset", "load", "Planted bug: 1% of requests get their connection reset", 0.01),
    Fault("load-connection-reset", "load", "Planted bug: 0.3% of requests get their connection reset", 0.003),
    Fault("load-no-answer-under-concurrency", "load", "Planted bug: above 8 requests in flight, the connection closes without an answer", 8),
    Fault("load-hang", "load", "Planted bug: 1% of requests are never answered (the client times out)", 0.01),
    # ... writes lost, crossed or reordered when several arrive at once
    Fault("load-lost-message-under-concurrency", "load", "Planted bug: beyond 2 messages in flight at one ticket, a message is acknowledged but not stored", 2),
    Fault("load-lost-message-under-concurrency", "load", "Planted bug: beyond 6 messages in flight at one ticket, a message is acknowledged but not stored", 6),
    Fault("load-lost-create-under-concurrency", "load", "Planted bug: beyond 4 creates in flight, a ticket is acknowledged but not stored", 4),
    Fault("load-lost-create-under-concurrency", "load", "Planted bug: beyond 10 creates in flight, a ticket is acknowledged but not stored", 10),
    Fault("load-crossed-fields-under-concurrency", "load", "Planted bug: beyond 4 creates in flight, a ticket is stored with another request's subject", 4),
    Fault("load-messages-out-of-order", "load", "Planted bug: above 6 requests in flight, a message is stored 5 s in the past (listed before older ones)", 6),
    Fault("load-ticket-number-race", "load", "Planted bug: ticket numbers are read-then-written, so concurrent creates share numbers"),
    Fault("load-ticket-number-race", "load", "Planted bug: ticket numbers are read-then-written with a 1 ms window, so concurrent creates share numbers", 1),
    # ... webhooks: lost, late in the tail, twice
    Fault("load-webhook-loss", "load", "Planted bug: deliveries beyond 20 per second are silently dropped"),
    Fault("load-webhook-loss", "load", "Planted bug: deliveries beyond 60 per second are silently dropped", 60),
    Fault("load-webhook-tail-late", "load", "Planted bug: 2% of webhooks are sent 2-6 s late", 0.02),
    Fault("load-webhook-tail-late", "load", "Planted bug: 5% of webhooks are sent 2-6 s late", 0.05),
    Fault("load-webhook-very-late", "load", "Planted bug: 1% of webhooks are sent 15 s late", 0.01),
    Fault("load-webhook-double-under-concurrency", "load", "Planted bug: above 6 requests in flight, the event fires twice (two delivery ids)", 6),
    Fault("load-webhook-crossed-under-concurrency", "load", "Planted bug: beyond 4 creates in flight, ticket.created carries another request's subject", 4),
    Fault("load-webhook-cut", "load", "Planted bug: every 40th delivery's body is cut in half, and signed as cut, on every attempt", 40),
    Fault("load-webhook-cut", "load", "Planted bug: every 230th delivery's body is cut in half, and signed as cut, on every attempt", 230),
    # ... answers that are wrong only while requests overlap: the stored data is right, so
    # only a check of every answer during the run can see them
    Fault("load-get-crossed-under-concurrency", "load", "Planted bug: above 5 requests in flight, a read by id answers the ticket another request read last", 5),
    Fault("load-get-crossed-under-concurrency", "load", "Planted bug: above 9 requests in flight, a read by id answers the ticket another request read last", 9),
    Fault("load-create-answer-no-id-under-concurrency", "load", "Planted bug: beyond 3 creates in flight, the 201 answer leaves out the ticket's id (the ticket is stored)", 3),
    Fault("load-create-answer-no-id-under-concurrency", "load", "Planted bug: beyond 7 creates in flight, the 201 answer leaves out the ticket's id (the ticket is stored)", 7),
    Fault("load-answer-cut", "load", "Planted bug: every 300th 2xx answer is cut in half (its Content-Length says so: no transport error)", 300),
    Fault("load-answer-cut", "load", "Planted bug: every 1,700th 2xx answer is cut in half, fewer than the error-ratio gate allows", 1700),
    Fault("load-list-short-under-concurrency", "load", "Planted bug: above 6 requests in flight, a list holds half its page (load shedding)", 6),
    Fault("load-list-short-under-concurrency", "load", "Planted bug: above 8 requests in flight, a list holds half its page (load shedding)", 8),
    # ... slower as the workspace fills up, while staying under the SLO for the run
    Fault("load-slow-as-data-grows", "load", "Planted bug: the list gets 20 ms slower per 100 tickets in the workspace", 20),
    Fault("load-slow-as-data-grows", "load", "Planted bug: the list gets 40 ms slower per 100 tickets in the workspace", 40),
    Fault("load-create-slows-as-data-grows", "load", "Planted bug: a create gets 25 ms slower per 100 tickets in the workspace", 25),
    Fault("stall", "load", "Planted bug: the event loop freezes for 1 s every 4 s (a stop-the-world pause)"),
    # red team, round 2: the same properties broken on other paths, channels and inputs
    Fault("validation-length-bytes", "validation", "Planted bug: description and message body lengths are counted in UTF-8 bytes, so 20,000 non-ASCII characters are refused"),
    Fault("validation-length-bytes", "validation", "Planted bug: subject and customer_name lengths are counted in UTF-8 bytes, so 300 non-ASCII characters are refused", 2),
    Fault("validation-description-max-rejected", "validation", "Planted bug: a description of exactly 20,000 characters is refused (the limit is one short)"),
    Fault("validation-name-max-rejected", "validation", "Planted bug: a customer_name of exactly 120 characters is refused (the limit is one short)"),
    Fault("validation-email-uppercase-rejected", "validation", "Planted bug: customer_email with upper-case letters (Alex@Example.com) is refused as an invalid email"),
    Fault("validation-email-subdomain-rejected", "validation", "Planted bug: customer_email on a subdomain (a@mail.example.com) is refused as an invalid email"),
    Fault("validation-blank-rejected", "validation", "Planted bug: a subject or message body of only whitespace is refused (trimmed before the minimum length)"),
    Fault("validation-null-optional-500", "validation", "Planted bug: an optional field (customer_name, priority) given as null answers 500"),
    Fault("validation-non-object-500", "validation", "Planted bug: a JSON body that is not an object (an array, a string, a number) answers 500"),
    Fault("validation-form-errors-shape", "validation", "Planted bug: a 400 for a body that is not an object has details without fieldErrors"),
    Fault("auth-key-suffix-accepted", "authentication", "Planted bug: a key with extra characters after it is accepted (only the key's length is compared)"),
    Fault("auth-key-in-query", "authentication", "Planted bug: a request without Authorization but with ?api_key=KEY is served"),
    Fault("auth-empty-token-500", "authentication", "Planted bug: 'Authorization: Bearer' with no token answers 500 instead of 401"),
    Fault("auth-revoked-on-ticket-paths", "authentication", "Planted bug: a revoked key is still accepted on /tickets/{id} and /tickets/{id}/messages"),
    Fault("auth-before-routing", "authentication", "Planted bug: without a valid key, an unknown path or unsupported method answers 401 instead of 404/405"),
    Fault("auth-ticket-before-auth", "authentication", "Planted bug: on ticket paths the ticket is looked up before the key: an unknown id is 404 whatever the credentials"),
    Fault("isolation-merged-readable-elsewhere", "isolation", "Planted bug: a merged ticket is readable by id with another workspace's key"),
    Fault("isolation-merged-409-elsewhere", "isolation", "Planted bug: posting to another workspace's merged ticket answers 409 instead of 404 (its existence leaks)"),
    Fault("list-limit-capped", "listing", "Planted bug: a limit above 20 returns only 20 tickets", 20),
    Fault("list-limit-capped", "listing", "Planted bug: limit=50 returns only 49 tickets", 49),
    Fault("list-limit-capped", "listing", "Planted bug: a limit above 35 returns only 35 tickets", 35),
    Fault("list-description-preview", "listing", "Planted bug: the list shows descriptions cut to a 200-character preview", 200),
    Fault("list-order-by-activity", "listing", "Planted bug: the list is ordered by updated_at (latest activity), not by creation"),
    Fault("list-status-filter-applied", "listing", "Planted bug: the planned status parameter filters the list instead of being ignored"),
    Fault("list-page-applied", "listing", "Planted bug: the planned page parameter is applied early (page=2 skips the newest page)"),
    Fault("list-subject-html-escaped", "listing", "Planted bug: the list shows subjects HTML-escaped (&lt;b&gt; for <b>)"),
    Fault("list-unknown-param-400", "listing", "Planted bug: an unknown query parameter (cursor, page) is a 400 instead of being ignored"),
    Fault("roundtrip-first-message-trimmed", "round-trip", "Planted bug: the description's first message is stored stripped of surrounding whitespace"),
    Fault("roundtrip-message-html-escaped", "round-trip", "Planted bug: posted message bodies are HTML-escaped in the conversation read by id"),
    Fault("roundtrip-repeat-message-200", "round-trip", "Planted bug: a message to a ticket that already has a posted message answers 200 instead of 201"),
    Fault("customer-name-filled-later", "customers", "Planted bug: customer_name names a known customer that has no name yet"),
    Fault("notes-leak-after-post", "notes", "Planted bug: once a public message is posted to a ticket, its internal notes are read as agent messages"),
    Fault("errors-405-allow-extra", "errors", "Planted bug: 405's Allow lists methods the path does not support"),
    Fault("errors-messages-get-404", "errors", "Planted bug: GET /tickets/{id}/messages answers 404 instead of 405 with Allow"),
    Fault("errors-unhyphenated-id-500", "errors", "Planted bug: a ticket id of 32 hex digits without hyphens (or in braces) answers 500"),
    Fault("errors-body-size-limit", "errors", "Planted bug: request bodies over 100 KB answer 413, refusing valid long non-ASCII descriptions", 100),
    Fault("errors-409-text-content-type", "errors", "Planted bug: the 409 body is sent as text/plain"),
    Fault("errors-404-message-path-body", "errors", "Planted bug: posting to an unknown ticket answers 404 {\"error\": \"Ticket not found\"}"),
    Fault("ratelimit-window-ms", "rate-limit", "Planted bug: the 429 body's window_seconds is in milliseconds (60000)"),
    Fault("ratelimit-no-retry-after-on-writes", "rate-limit", "Planted bug: 429 answers to POST requests lack Retry-After"),
    Fault("ratelimit-off-by-one", "rate-limit", "Planted bug: a key is served 61 requests per window, not 60"),
    Fault("ratelimit-per-workspace", "rate-limit", "Planted bug: the budget is per workspace, shared by all its keys"),
    Fault("webhook-retry-headers-dropped", "webhooks", "Planted bug: retried deliveries lack the X-Tixallo-Event header"),
    Fault("webhook-delivery-id-not-uuid", "webhooks", "Planted bug: X-Tixallo-Delivery is 'dlv_<hex>', not a UUID"),
    Fault("webhook-delivery-id-per-ticket", "webhooks", "Planted bug: every event of one ticket carries the same X-Tixallo-Delivery id"),
    Fault("webhook-no-retry-on-4xx", "webhooks", "Planted bug: a delivery the receiver answers with a 4xx is never retried"),
    Fault("webhook-urgent-as-high", "webhooks", "Planted bug: ticket.created says priority 'high' for an 'urgent' ticket"),
    Fault("webhook-body-html-escaped", "webhooks", "Planted bug: ticket.message.created carries the message body HTML-escaped (&lt;p&gt; for <p>)"),
    Fault("webhook-signed-ascii-escaped", "webhooks", "Planted bug: the signature is computed over the body with non-ASCII escaped, the body is sent as UTF-8"),
    Fault("webhook-rejected-message-fired", "webhooks", "Planted bug: a rejected (400) addMessage still fires ticket.message.created"),
    Fault("webhook-timestamp-ms", "webhooks", "Planted bug: X-Tixallo-Timestamp is in milliseconds (and signed as such)"),
    # ... and the same again on other names, statuses and paths
    Fault("auth-key-in-query", "authentication", "Planted bug: a request without Authorization but with ?access_token=KEY (RFC 6750's query form) is served", 3),
    Fault("errors-text-content-type", "errors", "Planted bug: 404 bodies are sent as text/plain", 404),
    Fault("errors-text-content-type", "errors", "Planted bug: 401 bodies are sent as text/plain", 401),
    Fault("errors-text-content-type", "errors", "Planted bug: 429 bodies are sent as text/plain", 429),
    Fault("ratelimit-no-retry-after-on-ticket-paths", "rate-limit", "Planted bug: 429 answers on /tickets/{id} and /tickets/{id}/messages lack Retry-After"),
    # ... and webhook variants of the delivery-id and retry faults
    Fault("webhook-delivery-id-unhyphenated", "webhooks", "Planted bug: X-Tixallo-Delivery is a UUID's 32 hex digits without hyphens"),
    Fault("webhook-delivery-id-per-second", "webhooks", "Planted bug: the delivery id is derived from the second the event was created, so events of one second share it"),
    Fault("webhook-no-retry-on-timeout", "webhooks", "Planted bug: a delivery the receiver does not answer in time is never retried"),
    Fault("webhook-timestamp-event-time", "webhooks", "Planted bug: X-Tixallo-Timestamp is the event's created_at, so a retry carries the first attempt's time (signed, within 300 s)"),
)
# fmt: on

# The switch names (a switch planted with several parameters is listed once, first variant).
BY_NAME: dict[str, Fault] = {}
for _fault in CATALOGUE:
    BY_NAME.setdefault(_fault.name, _fault)
# Every catalogue entry by what plants it (``name`` or ``name=param``).
BY_PLANT: dict[str, Fault] = {f.plant: f for f in CATALOGUE}


class UnknownFaultError(ValueError):
    """A fault name that is not in the catalogue."""


def names() -> list[str]:
    """Every switch name, in catalogue order."""
    return list(BY_NAME)


class FaultSet:
    """The faults switched on for one deployment; the faithful deployment has none.

    A fault is switched on by name, or as ``name=value`` to set its parameter (a number: how
    slow, how many in flight, what share...), so the same bug can be planted with other numbers
    and no check is tuned to one of them. ``param(name, default)`` reads it.
    """

    def __init__(self, active: Iterable[str] = ()) -> None:
        chosen: list[str] = []
        params: dict[str, float] = {}
        for raw in active:
            name, sep, value = raw.partition("=")
            name = name.strip()
            if sep:
                try:
                    params[name] = float(value)
                except ValueError:
                    raise UnknownFaultError(
                        f"fault {raw!r}: the parameter after '=' must be a number, e.g. {name}=3"
                    ) from None
            chosen.append(name)
        unknown = [n for n in chosen if n not in BY_NAME]
        if unknown:
            raise UnknownFaultError(
                f"unknown fault {', '.join(unknown)}: choose from {', '.join(names())}"
            )
        self._active = frozenset(chosen)
        self._params = params

    def on(self, name: str) -> bool:
        """Whether fault ``name`` is switched on (a typo in the code is a KeyError, not silence)."""
        if name not in BY_NAME:
            raise KeyError(f"no fault named {name!r} in the catalogue")
        return name in self._active

    def param(self, name: str, default: float) -> float:
        """The parameter fault ``name`` was switched on with (``name=value``), else ``default``."""
        if name not in BY_NAME:
            raise KeyError(f"no fault named {name!r} in the catalogue")
        return self._params.get(name, default)

    @property
    def active(self) -> frozenset[str]:
        return self._active

    def __bool__(self) -> bool:
        return bool(self._active)
