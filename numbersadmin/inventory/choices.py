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
