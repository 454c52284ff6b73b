"""Canonical vocabularies. Values mirror providers.base so adapters and the DB agree."""

from django.db import models

from providers import base


class NumberStatus(models.TextChoices):
    ACTIVE = base.STATUS_ACTIVE, "Active"
    PENDING = base.STATUS_PENDING, "Pending"
    SUSPENDED = base.STATUS_SUSPENDED, "Suspended"
    CANCELLING = base.STATUS_CANCELLING, "Cancelling"
    INACTIVE = base.STATUS_INACTIVE, "Inactive"
    REMOVED = "removed", "Removed"  # gone from the provider's complete listing (soft-deleted here)


class NumberKind(models.TextChoices):
    LOCAL = base.KIND_LOCAL, "Local"
    NATIONAL = base.KIND_NATIONAL, "National"
    MOBILE = base.KIND_MOBILE, "Mobile"
    TOLL_FREE = base.KIND_TOLL_FREE, "Toll-free"
    SHARED_COST = base.KIND_SHARED_COST, "Shared cost"
    SIP = base.KIND_SIP, "SIP"
    UNKNOWN = base.KIND_UNKNOWN, "Unknown"


class SyncState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    NEEDS_REVIEW = "needs_review", "Needs review"  # applied, but removals held by the breaker
    RETRY_SCHEDULED = "retry_scheduled", "Retry scheduled"  # rate limited; rescheduled


class SyncTrigger(models.TextChoices):
    MANUAL = "manual", "Sync now"
    SCHEDULE = "schedule", "Schedule"
    CLI = "cli", "Command line"
    RETRY = "retry", "Retry"
    RECOVERY = "recovery", "Recovery"  # replaces a run whose worker died


class ChangeKind(models.TextChoices):
    ADDED = "added", "Added"
    CHANGED = "changed", "Changed"
    REMOVED = "removed", "Removed"
    RESTORED = "restored", "Restored"
    MISSING = "missing", "Missing from listing"
    FOUND = "found", "Listed again"


class VerificationState(models.TextChoices):
    VERIFIED = "verified", "Verified"
    EXPIRING = "expiring", "Expiring"
    EXPIRED = "expired", "Expired"
    UNVERIFIED = "unverified", "Unverified"
    CANDIDATE = "candidate", "Location candidate"  # Webex: may be presented, nothing to verify


class AccountHealth(models.TextChoices):
    """An account's sync health: its last *attempt*, not only its last success
    (``selectors.classify_account`` decides; every health badge shows the result)."""

    OK = "ok", "Synced"
    STALE = "stale", "Stale"  # no good sync within twice the interval, last attempt did not fail
    FAILING = "failing", "Failing"  # the last attempt failed (whatever the last good sync was)
    NEVER_SYNCED = "never_synced", "Never synced"
    DISABLED = "disabled", "Disabled"  # not synced automatically: never counted stale or failing


# Where a run is (``SyncRun.stage``): set by the sync service ("connecting", "confirming",
# "applying") and by the adapters' progress reports (one per listing). A failed run keeps the
# stage it stopped at.
SYNC_STAGES = {
    "connecting": "connecting to the provider",
    "numbers": "fetching numbers",
    "trunks": "fetching trunks",
    "trunk_groups": "fetching trunk groups",
    "caller_ids": "fetching caller IDs",
    "locations": "fetching locations",
    "pools": "fetching number pools",
    "confirming": "asking the provider about numbers missing from its listing",
    "applying": "applying the changes to the inventory",
}


def stage_label(stage: str) -> str:
    return SYNC_STAGES.get(stage, stage.replace("_", " "))


class SyncErrorText:
    """Plain words for one ``SyncRun.error_class``: a short summary (tables), what happened and
    what to do (the run page). Fixed text: never the provider's message, so nothing here can
    carry a secret or an account identifier."""

    __slots__ = ("summary", "happened", "action")

    def __init__(self, summary: str, happened: str, action: str):
        self.summary, self.happened, self.action = summary, happened, action


RETRY_HINT = "Usually temporary: the next scheduled sync tries again, or use Sync now later."
# Every class a run records: providers/errors.py (provider side) and services/sync.py (ours).
SYNC_ERRORS = {
    "auth": SyncErrorText(
        "credentials refused",
        "The provider refused this account's credentials, or they lack a permission the sync needs "
        "(HTTP 401 or 403, or a role that may not list numbers).",
        "Check the credentials and their permissions at the provider (Webex token scopes, Voximplant "
        "service-account role, API key or auth token still valid), enter them again on the account's Edit "
        "page, then use Test connection and Sync now."),
    "rate_limited": SyncErrorText(
        "rate limited by the provider",
        "The provider asked us to slow down (HTTP 429) more often than the sync retries for.",
        "Nothing is lost: the next scheduled sync tries again. If it keeps happening, raise the account's "
        "sync interval or ask the provider for a higher API limit."),
    "unavailable": SyncErrorText(
        "provider unavailable",
        "The provider could not be reached or answered with a server error (HTTP 5xx, connection refused "
        "or reset).",
        f"{RETRY_HINT} If it persists, check the provider's status page and the account's base URL."),
    "timeout": SyncErrorText(
        "provider timed out",
        "The provider did not answer in time.",
        f"{RETRY_HINT} If it keeps happening, check the network path to the provider or raise "
        "PROVIDER_HTTP_TIMEOUT."),
    "bad_response": SyncErrorText(
        "answer not trusted",
        "The provider answered, but not with something we can trust: a malformed or cut-off answer, an "
        "unexpected shape, or a listing whose totals did not add up or that shifted while we paged through it.",
        "Try Sync now again: a listing that changed mid-sync usually settles. If it repeats, report it to the "
        "provider with the tracking id shown here (if any). Nothing is removed until a complete listing arrives."),
    "not_found": SyncErrorText(
        "not found at the provider",
        "The provider said something the sync asked for does not exist (HTTP 404).",
        "Check the account's settings on its Edit page (base URL, organisation or pool ids)."),
    "invalid_request": SyncErrorText(
        "request refused",
        "The provider refused our request as invalid (HTTP 4xx).",
        "Check the account's settings on its Edit page (API version, ids); if they are right, report it with "
        "the tracking id shown here (if any)."),
    "unsafe_url": SyncErrorText(
        "link to another host refused",
        "The provider pointed the sync at a host other than the configured one. It was not followed: "
        "credentials are only ever sent to the configured host.",
        "Check the account's base URL. If it is right, the provider's paging links point elsewhere: report it."),
    "provider_error": SyncErrorText(
        "provider error",
        "The provider reported an error the sync has no more specific class for.",
        f"{RETRY_HINT} If it repeats, report it to the provider with the tracking id shown here (if any)."),
    "secrets": SyncErrorText(
        "stored credentials unreadable",
        "The account's stored credentials could not be decrypted with the configured keys.",
        "Put the key that encrypted them back in FIELD_ENCRYPTION_KEYS (see the README on key rotation), "
        "or enter the credentials again on the account's Edit page."),
    "time_limit": SyncErrorText(
        "took too long",
        "The sync ran past SYNC_SOFT_TIME_LIMIT and was stopped.",
        "Check how fast the provider answers (page times in the worker log); raise SYNC_SOFT_TIME_LIMIT if the "
        "account is simply large."),
    "database": SyncErrorText(
        "database error",
        "Our database failed during the sync (for example while it restarted).",
        "Use Sync now once the database is available again; the next scheduled sync also retries."),
    "lost": SyncErrorText(
        "worker stopped",
        "The worker running this sync stopped before it finished (killed or restarted), or its task was "
        "lost before a worker picked it up. A fresh sync was queued in its place.",
        "Usually nothing: the replacement run appears on the account page. If runs keep getting lost, check "
        "that the worker is running and within its memory and time limits."),
    "busy": SyncErrorText(
        "another sync was running",
        "Another sync of this account was already running, so this one did not start.",
        "Nothing to do: follow the running sync on the accounts page."),
    "internal": SyncErrorText(
        "internal error",
        "An unexpected error in numbersadmin stopped the sync.",
        "Look up this run in the server log (its traceback is there, not here) and report it."),
    "removal_guard": SyncErrorText(
        "removals held for review",
        "The run would have removed more numbers than the safety limit allows, or the provider's stated "
        "total disagreed with what arrived, so its removals were held.",
        "Check the held numbers below. Confirm if they are really gone at the provider; otherwise wait for "
        "the next sync, which keeps them if they are listed again."),
}
UNKNOWN_ERROR = SyncErrorText(
    "failed", "The sync failed.", "Look up this run in the server log and report it.")


def sync_error_text(error_class: str) -> SyncErrorText:
    return SYNC_ERRORS.get(error_class, UNKNOWN_ERROR)
# Words shown in capitals wherever a key becomes a label ("api_key" -> "API key", not "Api key").
ACRONYMS = {"api": "API", "id": "ID", "ids": "IDs", "sid": "SID", "url": "URL", "uuid": "UUID", "sip": "SIP",
            "sms": "SMS", "mms": "MMS", "did": "DID", "ai": "AI", "ivr": "IVR", "json": "JSON", "e164": "E.164",
            "iso": "ISO", "pstn": "PSTN", "uri": "URI"}


def key_label(key: str) -> str:
    """A machine key as a label, sentence case with acronyms kept: 'api_key' -> 'API key',
    'AUTO_ATTENDANT' -> 'Auto attendant', 'credentials_json' -> 'Credentials JSON'."""
    words = [w for w in str(key or "").replace("-", "_").split("_") if w]
    out = []
    for i, word in enumerate(words):
        lower = word.lower()
        if lower in ACRONYMS:
            out.append(ACRONYMS[lower])
        else:
            out.append(lower.capitalize() if i == 0 else lower)
    return " ".join(out)
