"""Inventory models. Provider data is upserted by services/sync.py only; nothing here deletes
inventory: rows that disappear from a provider get ``removed_at`` (soft removal)."""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import IntegrityError, models, transaction
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone

from providers import registry

from . import crypto, sqlcache
from .validators import validate_base_url, validate_config
from .choices import (ChangeKind, NumberKind, NumberStatus, SyncErrorText, SyncState, SyncTrigger, key_label,
                      stage_label, sync_error_text)


_FIXED_URLS: dict[tuple, str] = {}
_PK_MARK = 9_876_543_210_123  # a pk no table reaches; replaced by the real one


def fixed_url(name: str, *args) -> str:
    """``reverse(name, args=args)`` for links whose arguments come from a fixed set (pages without
    arguments, list names): the header, the list toolbar and the nav draw ~30 per page, and
    reverse() resolves the pattern every time (~40 µs each). Kept per URL name, arguments, URLconf
    and script prefix, so a changed URLconf or prefix reverses afresh; never for unbounded
    arguments such as pks (pk_url)."""
    key = (name, args, get_urlconf() or settings.ROOT_URLCONF, get_script_prefix())
    url = _FIXED_URLS.get(key)
    if url is None:
        url = _FIXED_URLS[key] = reverse(name, args=args or None)
    return url


def pk_url(name: str, pk) -> str:
    """``reverse(name, args=[pk])`` for links drawn once per row (a list page draws ~100): one
    kept URL per name with a marker pk, the real pk put in its place."""
    return fixed_url(name, _PK_MARK).replace(str(_PK_MARK), str(pk))


class ProviderAccount(models.Model):
    provider = models.CharField(max_length=32, choices=registry.choices)
    name = models.CharField(max_length=100, unique=True)
    base_url = models.URLField(max_length=300, help_text="Leave as the provider's official URL unless told otherwise.")
    config = models.JSONField(default=dict, blank=True, help_text="Non-secret settings (org id, pool ids, ...).")
    secrets_encrypted = models.TextField(blank=True, editable=False)
    enabled = models.BooleanField(default=True)
    sync_interval_minutes = models.PositiveIntegerField(default=60)
    # Lease: one sync per account at a time; expires by itself if a worker dies mid-run.
    sync_lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    sync_lease_token = models.CharField(max_length=64, blank=True, editable=False)
    next_sync_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_sync_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_success_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Archived: kept with its history, no longer synced, and its rows leave totals and lists
    # (the numbers list shows them when asked: archived=include|only).
    archived_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        permissions = [("manage_accounts", "Can manage provider accounts and run syncs")]

    def __str__(self) -> str:
        return self.name

    @property
    def spec(self):
        return registry.get(self.provider)

    @property
    def provider_name(self) -> str:
        return self.spec.name if self.provider in registry.PROVIDERS else self.provider

    def get_secrets(self) -> dict[str, str]:
        return crypto.decrypt_secrets(self.secrets_encrypted)

    def set_secrets(self, values: dict[str, str]) -> None:
        self.secrets_encrypted = crypto.encrypt_secrets(values)

    def secret_keys_set(self) -> list[str]:
        try:
            return sorted(k for k, v in self.get_secrets().items() if v)
        except crypto.SecretsUnavailable:
            return []

    def clean(self) -> None:
        """The one validation path (web form, CLI, Django admin, API): see validators.py."""
        errors = {}
        if self.provider in registry.PROVIDERS:
            for name, check in (("base_url", lambda: validate_base_url(self.provider, self.base_url)),
                                ("config", lambda: validate_config(self.provider, self.config))):
                try:
                    value = check()
                except ValidationError as exc:
                    errors[name] = exc.messages
                else:
                    setattr(self, name, value)
        if errors:
            raise ValidationError(errors)

    def is_stale(self, now=None) -> bool:
        """Stale = no good sync within twice the interval (shown amber)."""
        if not self.last_success_at:
            return True
        now = now or timezone.now()
        return (now - self.last_success_at).total_seconds() > 2 * 60 * self.sync_interval_minutes

    def get_absolute_url(self) -> str:
        return pk_url("account_detail", self.pk)


class ProviderObject(models.Model):
    """Common columns of everything we mirror from a provider."""

    account = models.ForeignKey(ProviderAccount, on_delete=models.PROTECT)
    external_id = models.CharField(max_length=200)
    raw = models.JSONField(default=dict, blank=True)
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        constraints = []


class Location(ProviderObject):
    kind = models.CharField(max_length=20, default="city")
    name = models.CharField(max_length=200)
    country_code = models.CharField(max_length=2, blank=True)
    country_name = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=200, blank=True)
    main_number = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering = ["country_code", "name", "id"]
        constraints = [models.UniqueConstraint(fields=["account", "external_id"], name="uniq_location_ext")]

    def __str__(self) -> str:
        if self.kind == "site":
            return self.name
        return ", ".join(p for p in (self.city or self.name, self.region if self.city else "", self.country_code) if p)

    def get_absolute_url(self) -> str:
        return pk_url("location_detail", self.pk)


def owner_type_label(raw: str) -> str:
    """A provider's owner type as people read it ("VIRTUAL_LINE" -> "Virtual line", "AI_RECEPTIONIST" -> "AI receptionist")."""
    return key_label(raw)


class Owner(ProviderObject):
    """Who holds numbers (Webex person, workspace, virtual line, hunt group, ...)."""

    name = models.CharField(max_length=300)
    owner_type = models.CharField(max_length=60, blank=True)  # raw provider type: enums drift
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.SET_NULL, related_name="owners")

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["account", "external_id"], name="uniq_owner_ext")]
        indexes = [models.Index(fields=["owner_type", "name", "id"], name="owner_type_name_id")]

    def __str__(self) -> str:
        return self.name

    @property
    def type_label(self) -> str:
        return owner_type_label(self.owner_type) if self.owner_type else "Unknown"

    def get_absolute_url(self) -> str:
        return pk_url("owner_detail", self.pk)


class TrunkGroup(ProviderObject):
    name = models.CharField(max_length=200)
    capacity_limit = models.IntegerField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["account", "external_id"], name="uniq_trunkgroup_ext")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return pk_url("trunk_group_detail", self.pk)


class Trunk(ProviderObject):
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=40, blank=True)
    description = models.TextField(blank=True)
    trunk_group = models.ForeignKey(TrunkGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="trunks")

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["account", "external_id"], name="uniq_trunk_ext")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return pk_url("trunk_detail", self.pk)


class NumberGroup(ProviderObject):
    """DIDWW DID group (and later other providers' groupings such as pools)."""

    name = models.CharField(max_length=200)
    prefix = models.CharField(max_length=40, blank=True)
    group_type = models.CharField(max_length=60, blank=True)
    features = models.JSONField(default=list, blank=True)
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["account", "external_id"], name="uniq_numbergroup_ext")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})" if self.prefix else self.name

    def get_absolute_url(self) -> str:
        return pk_url("group_detail", self.pk)


class PhoneNumber(ProviderObject):
    provider = models.CharField(max_length=32, db_index=False)  # denormalised for filters/indexes
    number_raw = models.CharField(max_length=64)
    e164 = models.CharField(max_length=20, blank=True, help_text="Blank when the raw value cannot be parsed.")
    is_valid = models.BooleanField(default=True)
    digits = models.CharField(max_length=32, blank=True)  # e164 without "+" (or raw digits): search
    national_digits = models.CharField(max_length=32, blank=True)  # national significant number: search
    country = models.CharField(max_length=2, blank=True)
    region = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=20, choices=NumberKind.choices, default=NumberKind.UNKNOWN)
    status = models.CharField(max_length=20, choices=NumberStatus.choices, default=NumberStatus.ACTIVE)
    raw_status = models.CharField(max_length=100, blank=True)
    description = models.CharField(max_length=500, blank=True)
    voice = models.BooleanField(null=True)
    sms = models.BooleanField(null=True)
    mms = models.BooleanField(null=True)
    monthly_cost = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    acquired_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.SET_NULL, related_name="numbers")
    trunk = models.ForeignKey(Trunk, null=True, blank=True, on_delete=models.SET_NULL, related_name="numbers")
    trunk_group = models.ForeignKey(TrunkGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="numbers")
    number_group = models.ForeignKey(NumberGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="numbers")
    application = models.CharField(max_length=200, blank=True, help_text="Provider-side application/routing name")
    owner = models.ForeignKey(Owner, null=True, blank=True, on_delete=models.SET_NULL, related_name="numbers")
    # Plivo number pools (a number can sit in pools besides its own group); per membership the
    # pool's date and service (PoolMembership, the same table the plain M2M used).
    pools = models.ManyToManyField(NumberGroup, blank=True, related_name="pool_numbers", through="PoolMembership")
    extension = models.CharField(max_length=40, blank=True)
    is_main_number = models.BooleanField(null=True)
    is_service_number = models.BooleanField(null=True)
    # Whether the provider says the number renews: False = it will not (DIDWW billing_cycles_count
    # 0; Voximplant canceled, deactivated or auto_charge off), True = it will, None = unknown
    # (the provider does not say). Alert rule "number_not_renewing" queries will_renew=False.
    will_renew = models.BooleanField(null=True)
    # DIDWW DID attributes (None for other providers): billing cycles left (None = unlimited,
    # 0 = will not renew), emergency calling, channel capacity.
    billing_cycles_count = models.IntegerField(null=True, blank=True)
    emergency_enabled = models.BooleanField(null=True)
    capacity_limit = models.IntegerField(null=True, blank=True)
    channels_included_count = models.IntegerField(null=True, blank=True)
    dedicated_channels_count = models.IntegerField(null=True, blank=True)
    last_changed_at = models.DateTimeField(default=timezone.now)
    content_hash = models.CharField(max_length=64, blank=True)  # of the mapped record: skip unchanged rows
    # Absent from a complete listing, but the provider has not said it is gone (no lookup, or the
    # lookup failed): still live, shown as "missing since"; removed only if a listing at least one
    # sync interval later still lacks it.
    missing_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["e164", "id"]
        constraints = [models.UniqueConstraint(fields=["account", "external_id"], name="uniq_number_ext")]
        # One index per (filter, sort) pair that the list offers, each ending in id (keyset paging).
        indexes = [
            models.Index(fields=["e164", "id"], name="num_e164_id"),
            # Prefix search ("LIKE 'x%'"); varchar_pattern_ops because a non-C collation btree
            # cannot serve LIKE on PostgreSQL (ignored on SQLite). Digits anywhere ("LIKE '%x%'")
            # use a trigram GIN index on digits that migration 0009 adds on PostgreSQL only; text
            # search (filters.number_word_q) the trigram indexes of migration 0014.
            models.Index(fields=["digits"], opclasses=["varchar_pattern_ops"], name="num_digits_like"),
            models.Index(fields=["national_digits"], opclasses=["varchar_pattern_ops"], name="num_national_like"),
            models.Index(fields=["account", "e164", "id"], name="num_acct_e164_id"),
            models.Index(fields=["country", "e164", "id"], name="num_country_e164_id"),
            models.Index(fields=["status", "e164", "id"], name="num_status_e164_id"),
            models.Index(fields=["country", "status", "e164", "id"], name="num_cty_st_e164_id"),
            models.Index(fields=["trunk", "e164", "id"], name="num_trunk_e164_id"),
            models.Index(fields=["trunk_group", "e164", "id"], name="num_tg_e164_id"),
            models.Index(fields=["country", "id"], name="num_country_id"),
            models.Index(fields=["status", "id"], name="num_status_id"),
            models.Index(fields=["kind", "id"], name="num_kind_id"),
            models.Index(fields=["last_changed_at", "id"], name="num_last_changed_id"),
            models.Index(fields=["first_seen", "id"], name="num_first_seen_id"),
            models.Index(fields=["provider", "id"], name="num_provider_id"),
            models.Index(fields=["city", "id"], name="num_city_id"),
            # Country filter + city sort: cities follow countries, so (city, id) alone walks every
            # other country's cities first (2 s at 1,000,000 rows for country=GB&sort=city).
            models.Index(fields=["country", "city", "id"], name="num_country_city_id"),
            # Live numbers per owner / location (selectors.live_number_count): COUNT(*) reads only
            # these small partial indexes, never the table.
            models.Index(fields=["owner"], condition=models.Q(removed_at__isnull=True), name="num_live_owner"),
            models.Index(fields=["location"], condition=models.Q(removed_at__isnull=True), name="num_live_location"),
            models.Index(fields=["owner", "e164", "id"], name="num_owner_e164_id"),
            models.Index(fields=["location", "e164", "id"], name="num_location_e164_id"),
            models.Index(fields=["missing_since", "id"], name="num_missing_id"),
            # Dashboard "renewing or expiring within N days": an index-only range count of live rows.
            models.Index(fields=["expires_at", "account"], condition=models.Q(removed_at__isnull=True),
                         name="num_live_expires"),
        ]

    def __str__(self) -> str:
        return self.e164 or self.number_raw

    def get_absolute_url(self) -> str:
        return pk_url("number_detail", self.pk)


# Fields diffed into history (raw/hash/timestamps are not interesting to humans).
TRACKED_FIELDS = (
    "number_raw", "e164", "country", "region", "city", "kind", "status", "raw_status", "description",
    "voice", "sms", "mms", "monthly_cost", "currency", "acquired_at", "expires_at",
    "location_id", "trunk_id", "trunk_group_id", "number_group_id", "application", "owner_id", "extension",
    "is_main_number", "is_service_number", "will_renew", "billing_cycles_count", "emergency_enabled",
    "capacity_limit", "channels_included_count", "dedicated_channels_count",
)


class NumberCount(models.Model):
    """How many PhoneNumber rows have each (account, provider, country, status, removed) key: the
    dashboard's and the accounts page's totals without scanning the numbers table.

    Maintained by database triggers on inventory_phonenumber (migration 0015), so every writer
    keeps it exact: the sync's bulk writes, ``.update()``, raw SQL, deletes, the benchmark's
    INSERT ... SELECT. Rows at 0 stay (no delete races). ``counts`` (inventory/counts.py) verifies and rebuilds
    it (``manage.py number_counts --check / --rebuild``)."""

    account = models.ForeignKey(ProviderAccount, on_delete=models.CASCADE, related_name="+")
    provider = models.CharField(max_length=32)
    country = models.CharField(max_length=2, blank=True)
    status = models.CharField(max_length=20)
    removed = models.BooleanField()  # removed_at IS NOT NULL
    n = models.IntegerField(default=0)  # sum(integer) is bigint, read as int (sum(bigint) is numeric)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "provider", "country", "status", "removed"],
                                               name="uniq_numbercount_key")]


class PoolMembership(models.Model):
    """A number's place in a Plivo number pool: when it joined (``added_on``), the pool's service
    for it ("sms"/"mms" from the Number/ list) and which pool list it came from (``number``,
    ``tollfree``, ``shortcode``). The table is the one ``PhoneNumber.pools`` used before it had a
    through model (migration 0011), so its column names stay."""

    phonenumber = models.ForeignKey(PhoneNumber, on_delete=models.CASCADE)
    numbergroup = models.ForeignKey(NumberGroup, on_delete=models.CASCADE)
    added_on = models.DateTimeField(null=True, blank=True)
    service = models.CharField(max_length=20, blank=True)
    member_type = models.CharField(max_length=20, blank=True)  # number | tollfree | shortcode

    class Meta:
        db_table = "inventory_phonenumber_pools"
        unique_together = [("phonenumber", "numbergroup")]

    MEMBER_TYPE_LABELS = {"number": "number", "tollfree": "toll-free", "shortcode": "short code"}

    def __str__(self) -> str:
        return f"{self.phonenumber_id} in {self.numbergroup_id}"

    def get_member_type_label(self) -> str:
        return self.MEMBER_TYPE_LABELS.get(self.member_type, self.member_type)


class CallerId(ProviderObject):
    """A caller ID an account may present (Voximplant verified caller IDs). Its verification state
    (verified / expiring / expired / unverified) is computed at query time from ``verified_until``
    and the admin-set window, so it is never stale."""

    number_raw = models.CharField(max_length=64)
    e164 = models.CharField(max_length=20, blank=True)
    # The same search columns as PhoneNumber (filters.number_term_q); a small table, no extra index.
    digits = models.CharField(max_length=32, blank=True)
    national_digits = models.CharField(max_length=32, blank=True)
    country = models.CharField(max_length=2, blank=True)  # ISO, of the E.164 number
    active = models.BooleanField(null=True)
    verified_until = models.DateField(null=True, blank=True)
    code_entering_attempts_left = models.IntegerField(null=True, blank=True)
    verification_call_attempts_left = models.IntegerField(null=True, blank=True)
    kind = models.CharField(max_length=30, default="verified")  # verified | location_candidate
    # Webex candidates: the candidate number's own location (not the location it was listed for),
    # its owner and flags.
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.SET_NULL, related_name="caller_ids")
    # The location whose external caller-ID list offers this candidate (it may present it).
    listed_for = models.ForeignKey(Location, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="caller_id_candidates")
    owner = models.ForeignKey("Owner", null=True, blank=True, on_delete=models.SET_NULL, related_name="caller_ids")
    is_main_number = models.BooleanField(null=True)
    toll_free_number = models.BooleanField(null=True)
    is_service_number = models.BooleanField(null=True)

    class Meta:
        ordering = ["e164", "id"]
        constraints = [models.UniqueConstraint(fields=["account", "external_id"], name="uniq_callerid_ext")]
        indexes = [
            models.Index(fields=["e164", "id"], name="callerid_e164_id"),
            models.Index(fields=["verified_until", "id"], name="callerid_verified_id"),
            # The list's count (live caller IDs of active accounts) reads this index alone, not the table.
            models.Index(fields=["account"], condition=models.Q(removed_at__isnull=True), name="callerid_live_account"),
        ]

    def __str__(self) -> str:
        return self.e164 or self.number_raw

    def get_absolute_url(self) -> str:
        return pk_url("caller_id_detail", self.pk)


class SiteSettings(models.Model):
    """Admin-editable settings (one row). Every setting is bounded: the validators refuse an
    out-of-range value in a form (Settings page, Django admin), and ``load()`` clamps a value
    stored before the bounds existed, so a bad row can never turn into a 500 where it is used."""

    CALLER_ID_EXPIRY_WINDOW_MIN = 1
    CALLER_ID_EXPIRY_WINDOW_MAX = 365

    caller_id_expiry_window_days = models.PositiveIntegerField(
        default=30, help_text="A caller ID whose verification ends within this many days is 'expiring' (1 to 365).",
        validators=[MinValueValidator(CALLER_ID_EXPIRY_WINDOW_MIN), MaxValueValidator(CALLER_ID_EXPIRY_WINDOW_MAX)])

    class Meta:
        verbose_name_plural = "site settings"

    @classmethod
    def load(cls) -> "SiteSettings":
        """The settings row (created with the defaults when missing), clamped. Inside a request
        (``site_settings_memo``, opened by middleware.SiteSettingsMemoMiddleware) the row is read
        once and each call gets its own copy; nothing outlives the request, so a change is seen
        by the very next request in every process."""
        memo = _SETTINGS_MEMO.get()
        if memo is not None and memo:
            return cls.from_db(memo["db"], memo["names"], memo["values"])
        found = sqlcache.rows(cls, ("site_settings",), lambda: cls.objects.filter(pk=1))  # SQL kept: every page reads it
        obj = found[0] if found else cls._create_row()
        obj.clamp()
        if memo is not None:
            names = [f.attname for f in cls._meta.concrete_fields]
            memo.update(db=obj._state.db, names=names, values=[getattr(obj, n) for n in names])
        return obj

    @classmethod
    def _create_row(cls) -> "SiteSettings":
        # get_or_create's create step (its SELECT has just been made): another process may win the race.
        try:
            with transaction.atomic():
                return cls.objects.create(pk=1)
        except IntegrityError:
            return cls.objects.get(pk=1)

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        forget_site_settings()  # the rest of this request reads the saved row

    def delete(self, *args, **kwargs):
        result = super().delete(*args, **kwargs)
        forget_site_settings()
        return result

    def clamp(self) -> None:
        """Bring every bounded field into its validators' range (in memory; saved on the next save)."""
        for field in self._meta.concrete_fields:
            lower, upper = bounds(field)
            value = getattr(self, field.attname)
            if value is None or (lower is None and upper is None):
                continue
            if lower is not None and value < lower:
                value = lower
            if upper is not None and value > upper:
                value = upper
            setattr(self, field.attname, value)


# The request's memo of the SiteSettings row (None: outside a request, every load() reads the row).
_SETTINGS_MEMO: ContextVar[dict | None] = ContextVar("site_settings_memo", default=None)


@contextmanager
def site_settings_memo():
    """``SiteSettings.load()`` reads the row at most once inside (one request)."""
    token = _SETTINGS_MEMO.set({})
    try:
        yield
    finally:
        _SETTINGS_MEMO.reset(token)


def forget_site_settings() -> None:
    memo = _SETTINGS_MEMO.get()
    if memo is not None:
        memo.clear()


def bounds(field) -> tuple[int | None, int | None]:
    """A field's (min, max) from its Min/MaxValueValidators (None where unbounded)."""
    lower = upper = None
    for v in field.validators:
        if isinstance(v, MinValueValidator):
            lower = v.limit_value if lower is None else max(lower, v.limit_value)
        elif isinstance(v, MaxValueValidator):
            upper = v.limit_value if upper is None else min(upper, v.limit_value)
    return lower, upper


class SyncRun(models.Model):
    account = models.ForeignKey(ProviderAccount, on_delete=models.CASCADE, related_name="sync_runs")
    trigger = models.CharField(max_length=20, choices=SyncTrigger.choices, default=SyncTrigger.MANUAL)
    state = models.CharField(max_length=20, choices=SyncState.choices, default=SyncState.QUEUED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    stage = models.CharField(max_length=40, blank=True)
    pages_fetched = models.PositiveIntegerField(default=0)
    items_fetched = models.PositiveIntegerField(default=0)
    items_total = models.PositiveIntegerField(null=True, blank=True)
    added = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    removed = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    restored = models.PositiveIntegerField(default=0)
    held_removals = models.PositiveIntegerField(default=0)
    error_class = models.CharField(max_length=40, blank=True)
    error_message = models.TextField(blank=True)
    retry_at = models.DateTimeField(null=True, blank=True)
    tracking_id = models.CharField(max_length=200, blank=True, help_text="Provider request id for support")
    held_external_ids = models.JSONField(default=list, blank=True, editable=False)
    missing = models.PositiveIntegerField(default=0, help_text="Numbers newly missing from the listing (not removed)")
    # Liveness: the account's lease carries this token while the run holds it; the worker renews
    # the lease (heartbeat) while it runs, so a run whose lease lapsed has lost its worker.
    lease_token = models.CharField(max_length=64, blank=True, editable=False)
    heartbeat_at = models.DateTimeField(null=True, blank=True, editable=False)
    enqueued_at = models.DateTimeField(null=True, blank=True, editable=False)  # last hand-off to the runner
    not_before = models.DateTimeField(null=True, blank=True, editable=False)  # retry runs: due time
    rate_limit_retries = models.PositiveSmallIntegerField(default=0, editable=False)  # in this run's chain

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "-created_at"], name="syncrun_acct_created")]

    def __str__(self) -> str:
        return f"sync #{self.pk} of {self.account} ({self.state})"

    @property
    def is_active(self) -> bool:
        return self.state in (SyncState.QUEUED, SyncState.RUNNING)

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None

    @property
    def percent(self) -> int | None:
        if self.items_total:
            return min(100, int(100 * self.items_fetched / self.items_total))
        return None

    @property
    def stage_label(self) -> str:
        """"fetching numbers": where the run is, or where it stopped when it failed."""
        return stage_label(self.stage) if self.stage else ""

    @property
    def error_text(self) -> SyncErrorText | None:
        """Plain words for the error class (never the provider's message)."""
        return sync_error_text(self.error_class) if self.error_class else None

    def get_absolute_url(self) -> str:
        return reverse("sync_run_detail", args=[self.pk])


class Change(models.Model):
    """One observed change between syncs: a field's old and new value (stored as text, machine
    form), or an event (added, removed, ...)."""

    run = models.ForeignKey(SyncRun, null=True, blank=True, on_delete=models.SET_NULL)
    kind = models.CharField(max_length=20, choices=ChangeKind.choices)
    field = models.CharField(max_length=60, blank=True)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True
        ordering = ["-at", "-id"]


class NumberChange(Change):
    number = models.ForeignKey(PhoneNumber, on_delete=models.CASCADE, related_name="changes")

    class Meta(Change.Meta):
        indexes = [
            models.Index(fields=["number", "-at"], name="change_number_at"),
            # "As of" (asof.py): the numbers whose sort column changed after T; the diff: a window.
            models.Index(fields=["field", "at"], name="change_field_at"),
            models.Index(fields=["at"], name="change_at"),
        ]


class CallerIdChange(Change):
    """History of a caller ID: a tracked field (verified_until, active, attempts left) changed
    between syncs."""

    caller_id = models.ForeignKey(CallerId, on_delete=models.CASCADE, related_name="changes")

    class Meta(Change.Meta):
        indexes = [models.Index(fields=["caller_id", "-at"], name="change_callerid_at")]


class OwnerChange(Change):
    """History of an owner: a tracked field (name, type, location, ...) changed between syncs, or
    the owner left the listing (removed) or came back (restored)."""

    owner = models.ForeignKey(Owner, on_delete=models.CASCADE, related_name="changes")

    class Meta(Change.Meta):
        indexes = [models.Index(fields=["owner", "-at"], name="change_owner_at")]


class LocationChange(Change):
    """History of a location, like OwnerChange."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="changes")

    class Meta(Change.Meta):
        indexes = [models.Index(fields=["location", "-at"], name="change_location_at")]


class AuditLog(models.Model):
    """Admin actions and exports: who did what, when, to how many rows."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    username = models.CharField(max_length=150, blank=True)  # kept if the user is deleted
    action = models.CharField(max_length=60)
    target = models.CharField(max_length=200, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    rows = models.PositiveIntegerField(null=True, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]


# --- Local data beside provider data. A sync never writes these tables. ---------------


class Tag(models.Model):
    """A local label on numbers. Names are stored lower-case so "Porting" and "porting" are one tag."""

    name = models.CharField(max_length=50, unique=True)
    numbers = models.ManyToManyField(PhoneNumber, blank=True, related_name="tags")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class NumberNote(models.Model):
    number = models.OneToOneField(PhoneNumber, on_delete=models.CASCADE, related_name="note")
    text = models.TextField(max_length=4000)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.text[:60]


# --- Per-user list state ------------------------------------------------------------------------


class SavedView(models.Model):
    """Filters + search + sort + columns + page size of one list, as a normalised query string.
    Private to its owner unless shared; only the owner may change or delete it."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    list_name = models.CharField(max_length=30)
    name = models.CharField(max_length=100)
    params = models.CharField(max_length=4000, blank=True)
    shared = models.BooleanField(default=False, help_text="Visible to every user (only you can change it).")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["list_name", "name", "id"]
        constraints = [models.UniqueConstraint(fields=["owner", "list_name", "name"], name="uniq_view_owner_name")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("saved_view", args=[self.pk])

    def is_visible_to(self, user) -> bool:
        return self.shared or self.owner_id == user.pk


class ListPreference(models.Model):
    """A user's visible columns (in order) and default view for one list."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="list_preferences")
    list_name = models.CharField(max_length=30)
    columns = models.JSONField(default=list, blank=True)
    default_view = models.ForeignKey(SavedView, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "list_name"], name="uniq_pref_user_list")]


class ExportJob(models.Model):
    """An export too big to build inside a web request (XLSX above EXPORT_XLSX_SYNC_ROWS)."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Ready"
        FAILED = "failed", "Failed"

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    list_name = models.CharField(max_length=30)
    params = models.CharField(max_length=4000, blank=True)
    selected = models.JSONField(default=list, blank=True)  # ticked row ids, when the export is a selection
    columns = models.JSONField(default=list, blank=True)  # export column headers, in order
    columns_mode = models.CharField(max_length=10, default="view")
    file_format = models.CharField(max_length=10, default="xlsx")
    state = models.CharField(max_length=20, choices=State.choices, default=State.QUEUED)
    rows_total = models.PositiveIntegerField(null=True, blank=True)
    rows_written = models.PositiveIntegerField(default=0)
    file_name = models.CharField(max_length=200, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    @property
    def percent(self) -> int | None:
        if self.rows_total:
            return min(100, int(100 * self.rows_written / self.rows_total))
        return None

    def get_absolute_url(self) -> str:
        return reverse("export_job", args=[self.pk])


class ApiToken(models.Model):
    """A personal API token. Only a SHA-256 of the secret is stored (tokens are 256-bit random, so
    an unsalted hash is enough, as for GitHub tokens); ``prefix`` lets the owner recognise it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    read_only = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "active" if self.usable() else "expired"


class AccountScope(models.Model):
    """Which provider accounts a set of users sees (issue 14): every inventory read goes through
    scopes.scoped(). A user in no scope sees every account while SCOPES_DEFAULT_ALL is on (the
    default); a user in at least one scope (directly or through a group) sees only the accounts of
    their scopes. ``can_manage``: its users may also manage these accounts (edit, test, sync,
    confirm removals, bulk edit) without the global ``manage_accounts`` permission."""

    name = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=300, blank=True)
    accounts = models.ManyToManyField(ProviderAccount, blank=True, related_name="scopes")
    groups = models.ManyToManyField("auth.Group", blank=True, related_name="account_scopes")
    users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="account_scopes")
    can_manage = models.BooleanField(default=False, help_text="Its users may also manage these accounts "
                                                              "(edit, test, sync, confirm removals, bulk edit).")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("scope_edit", args=[self.pk])
