"""FilterSets: query string -> validated filters. Invalid values become form errors that the
view shows as a message (never a 500). Choice lists come from small tables (accounts,
locations), never from ``SELECT DISTINCT`` over the numbers table."""

from __future__ import annotations

import copy
import datetime as dt
import functools
import re
from dataclasses import dataclass

import django_filters as df
from django_filters.filters import FilterMethod
import phonenumbers
from django import forms
from django.db.models import Count, Q, Value
from django.http import QueryDict
from django.utils import timezone

from providers import registry
from providers.plivo.mapping import POOL_GROUP_TYPE

from . import asof
from .scopes import scoped, visible_account_ids
from .choices import NumberKind, NumberStatus, VerificationState, key_label
from .countries import country_label
from .planner import EXACT_COUNT_LIMIT, correct_estimate, estimate_rows
from .widgets import FastChoiceField, FastModelChoiceField, FastSelect, render_inputs_in_python
from .models import (AuditLog, CallerId, Location, NumberCount, NumberGroup, NumberNote, Owner, PhoneNumber, ProviderAccount,
                     Tag, Trunk, TrunkGroup)


def _location_choices(held_countries: bool = False, extra_countries=()) -> dict[str, list[tuple[str, str]]]:
    """Country, region and city choices from the (small) locations table in one query.

    ``held_countries``: the countries of numbers too, read from NumberCount (kept by triggers, a
    few rows per account), so numbers without a location record (Plivo, Apifonica) are
    filterable; never a DISTINCT over the numbers table. ``extra_countries``: codes a URL or
    saved view asks for; a region phonenumbers knows stays a valid choice while no number has it
    (0 rows, not an error)."""
    countries: set[str] = set()
    regions, cities = set(), set()
    # order_by(): the model's ordering (name, id) would join the DISTINCT and return every row.
    rows = scoped(Location.objects).order_by().values_list("country_code", "region", "city").distinct()
    if held_countries:  # one query: UNION is distinct too; the viewer's accounts only (scopes.py)
        held = scoped(NumberCount.objects).order_by().annotate(r=Value(""), c=Value("")).values_list("country", "r", "c")
        rows = rows.union(held).order_by()
    for code, region, city in rows:
        if code:
            countries.add(code.upper())
        if region:
            regions.add(region)
        if city:
            cities.add(city)
    countries.update(c for c in extra_countries if c in phonenumbers.SUPPORTED_REGIONS)
    return {
        # "Germany (DE)": names from one table (countries.py), never a bare code or a provider's spelling.
        "country": sorted(((c, country_label(c)) for c in countries), key=lambda x: x[1].casefold()),
        "region": [(r, r) for r in sorted(regions)],
        "city": [(c, c) for c in sorted(cities)],
    }


YES_NO = [("yes", "Yes"), ("no", "No")]
ATTEMPTS = [("none", "0 (none left)"), ("some", "More than 0"), ("unknown", "Not stated")]
SEARCH_MAX_CHARS = 100  # longer search text is cut (it never matches anything real)


def within_days(field: str, start, days: int) -> Q:
    """``field`` from ``start`` to ``days`` later: the "expires within" filters and the dashboard's
    figures that link to them."""
    return Q(**{f"{field}__gte": start, f"{field}__lte": start + dt.timedelta(days=days)})


def _owner_type_choices() -> list[tuple[str, str]]:
    # DISTINCT in the database: Webex accounts hold an owner per user (thousands of rows).
    types = sorted(Owner.objects.exclude(owner_type="").order_by().values_list("owner_type", flat=True).distinct())
    return [(t, key_label(t)) for t in types]


NULL = "null"  # the "is empty" choice value (django-filter's null_value)
EMPTY_LABEL = "(empty)"
ANY_LABEL = "Any"  # the blank choice of every filter select: no filter


class BlankChoiceFilter(df.ChoiceFilter):
    """A choice filter on a text column where "empty" means '' or NULL (django-filter's null
    choice only tests IS NULL)."""

    def filter(self, qs, value):
        if value == self.null_value:
            empty = Q(**{self.field_name: ""}) | Q(**{f"{self.field_name}__isnull": True})
            return qs.exclude(empty) if self.exclude else qs.filter(empty)
        return super().filter(qs, value)


def _scoped_choices(qs):
    model = qs.model
    if model is ProviderAccount:
        return scoped(qs, "pk")
    if any(f.name == "account" for f in model._meta.concrete_fields):
        return scoped(qs)
    return qs


class FastFilterSet(df.FilterSet):
    """Select widgets rendered in Python (see widgets.FastSelect); explicit widgets are kept.

    ``negatable`` filters also get a hidden ``<name>__n`` twin that excludes instead of filters
    ("is not", NetBox's ``__n``); filters declared with ``null_label`` offer "(empty)". The twins
    are hidden inputs of the same form, so changing another filter keeps them."""

    negatable: tuple[str, ...] = ()
    # Shown first; the rest sit under "More filters" (open when one of them is in use).
    primary: tuple[str, ...] | None = None
    # Values that mean "no filter" (no chip, not counted as in use).
    defaults: dict[str, str] = {}

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None):
        # BaseFilterSet.__init__ (django-filter 26.2), with _copy_filters() for its deepcopy
        # (tests/test_filters_copy.py compares the two).
        if queryset is None:
            queryset = self._meta.model._default_manager.all()
        self.is_bound = data is not None
        self.data = data or QueryDict()
        self.queryset = queryset
        self.request = request
        self.form_prefix = prefix
        self.filters = self._copy_filters()
        for f in self.filters.values():
            f.model = queryset.model
            f.parent = self
        self._adapt_filters()

    def _copy_filters(self) -> dict:
        """Each declared filter copied with its own attributes and ``extra``: what an instance
        changes (below, and subclasses replace ``extra["choices"]``; nothing edits a value in
        place). django-filter deep-copies them, querysets in ``extra`` included (a Query clone
        each): a third of a small list's filter form."""
        copies = {}
        for name, base in self.base_filters.items():
            if "_field" in base.__dict__:  # a built form field would be shared: copy it all
                copies[name] = copy.deepcopy(base)
                continue
            f = copy.copy(base)
            f.extra = dict(base.extra)
            if isinstance(f.filter, FilterMethod):  # bound to its filter: the copy needs its own
                f.filter = FilterMethod(f)
            copies[name] = f
        return copies

    def _adapt_filters(self) -> None:
        for name, f in self.filters.items():
            if isinstance(f, (df.ChoiceFilter, df.ModelChoiceFilter)):
                if "widget" not in f.extra:
                    f.extra["widget"] = FastSelect
                if f.field_class is df.fields.ModelChoiceField:
                    f.field_class = FastModelChoiceField
                elif f.field_class is df.fields.ChoiceField:
                    f.field_class = FastChoiceField
                f.extra.setdefault("empty_label", ANY_LABEL)  # "no filter" reads "Any", not "---------"
            if isinstance(f, df.ModelChoiceFilter) and f.queryset is not None:
                # Dropdowns offer only the viewer's accounts and their objects (scopes.py); an
                # out-of-scope id in the URL is then an invalid choice, reported and ignored.
                f.queryset = _scoped_choices(f.queryset).all()  # this instance's own (the filters are copied shallowly)
                if f.field_class is FastModelChoiceField and not callable(f.queryset):
                    # The class's queryset and the viewer's accounts make the whole query: its
                    # SQL is compiled once per key (widgets, sqlcache).
                    f.extra["choices_key"] = ("choices", type(self).__module__, type(self).__qualname__, name,
                                              visible_account_ids())

    def get_form_class(self):
        # Built here, not in __init__: subclasses fill choice lists after super().__init__().
        for name in self.negatable:
            if f"{name}__n" in self.filters:
                continue
            # A shallow copy with its own ``extra``: a deepcopy would also copy ``parent`` (this
            # FilterSet, with its queryset and data), the costliest step of the numbers page.
            twin = copy.copy(self.filters[name])
            twin.__dict__.pop("_field", None)
            twin.extra = dict(twin.extra)
            twin.exclude = True
            twin.label = f"{self.filters[name].label} is not"
            twin.extra["widget"] = forms.HiddenInput
            twin.parent = self
            self.filters[f"{name}__n"] = twin
        form_class = super().get_form_class()
        render_inputs_in_python(form_class)
        # This class and its fields were just built for this FilterSet's one form (``form`` is
        # cached): the form takes them as they are instead of deep-copying them.
        form_class.base_fields = _OneFormFields(form_class.base_fields)
        return form_class


class _OneFormFields(dict):
    """Fields built for one form instance: the first form takes them as they are; any other form
    of the class gets its own deep copies, as Django gives every form."""

    taken = False

    def __deepcopy__(self, memo):
        if self.taken:
            return {name: copy.deepcopy(field, memo) for name, field in self.items()}
        self.taken = True
        return self


# --- Free-text search (q=) ----------------------------------------------------------------------
# The rule (README "Search"): the text is cut to SEARCH_MAX_CHARS and split at whitespace, "," and
# ";". A word made only of digits and phone punctuation (+ ( ) - . /) is part of a number; words of
# a number written next to each other form ONE number ("+44 (0)20 3240 2344", "3240 2344"), a word
# starting with "+" starts a new one, and "," or ";" ends one. Any other word is text. Every term
# must match (AND), so adding a term can only narrow the rows. A number is normalised to its digits
# ("(0)" after digits, the "+44 (0)20" trunk prefix, is dropped) and matches when
#   typed with "+": the international digits start with it ("+44 20 3240" -> 44203240…);
#   otherwise any of: a) the digits appear anywhere in the international digits (suffix "2344",
#   middle "3240 23"); b) they start with 0, the number's country is dialled with a 0 trunk prefix
#   (trunk_zero_regions(): UK, Germany, France…; not +1 or Italy) and its national significant number
#   starts with the rest ("020 3240 2344" -> 2032402344); c) they start with 00 (international call
#   prefix) and the international digits start with the rest ("0044 20 3240…").
# Each alternative only narrows when digits are appended, so a longer number never finds more. (b)
# is per country so that last digits starting with 0 ("0415") do not also find every +1 415 number.
# Lists without a number column (owners, locations, trunks, trunk groups, DID groups & pools) match
# every word as text.
_QUERY_TOKEN = re.compile(r"[,;]|[^\s,;]+")
_PHONE_WORD = re.compile(r"[0-9+()\-./]+")
_TRUNK_IN_BRACKETS = re.compile(r"(?<=\d)\s*\(\s*0\s*\)")


@dataclass(frozen=True)
class NumberTerm:
    digits: str  # normalised: digits only
    international: bool  # typed with a leading "+": anchored at the start of the international digits


@dataclass(frozen=True)
class SearchTerms:
    numbers: tuple[NumberTerm, ...] = ()
    words: tuple[str, ...] = ()


def _number_term(written: str) -> NumberTerm | None:
    written = _TRUNK_IN_BRACKETS.sub("", written.strip())
    digits = re.sub(r"[^0-9]", "", written)
    # A number without digits ("+", "-", "()") constrains nothing: it is the start of something typed.
    return NumberTerm(digits, written.startswith("+")) if digits else None


def parse_search(text) -> SearchTerms:
    """``q`` -> the number and text terms it holds (the rule above)."""
    numbers: list[NumberTerm] = []
    words: list[str] = []
    run: list[str] = []

    def end_number():
        if run and (term := _number_term(" ".join(run))):
            numbers.append(term)
        run.clear()

    for token in _QUERY_TOKEN.findall(str(text or "")[:SEARCH_MAX_CHARS]):
        if token in ",;":
            end_number()
        elif _PHONE_WORD.fullmatch(token):
            if token.startswith("+"):
                end_number()
            run.append(token)
        else:
            end_number()
            words.append(token)
    end_number()
    return SearchTerms(tuple(numbers), tuple(words))


@functools.cache
def trunk_zero_regions() -> tuple[str, ...]:
    """ISO regions whose numbers are dialled nationally as 0 + national significant number."""
    return tuple(sorted(r for r in phonenumbers.SUPPORTED_REGIONS if phonenumbers.ndd_prefix_for_region(r, True) == "0"))


def number_term_q(term: NumberTerm) -> Q:
    """One number term against a model's ``digits`` (international), ``national_digits`` and
    ``country`` columns (PhoneNumber, CallerId)."""
    d = term.digits
    if term.international:
        return Q(digits__startswith=d)
    # On PostgreSQL "contains" is served by a trigram GIN index (migration 0009), "startswith" by
    # the varchar_pattern_ops btrees.
    q = Q(digits__contains=d)
    if d.startswith("0"):
        q |= Q(national_digits__startswith=d[1:], country__in=trunk_zero_regions())
    if d.startswith("00"):
        q |= Q(digits__startswith=d[2:])
    return q


def words_q(words, fields) -> Q:
    """Every word in at least one of ``fields`` (case-insensitive)."""
    q = Q()
    for word in words:
        any_field = Q()
        for field in fields:
            any_field |= Q(**{f"{field}__icontains": word})
        q &= any_field
    return q


def text_search_q(text, fields) -> Q:
    """For lists without a number column: every whitespace-separated word is text."""
    return words_q(str(text or "")[:SEARCH_MAX_CHARS].split(), fields)


# Words also match what a number hangs off (owner, location, trunk) and local notes, so Enter in the
# global search lands on the numbers those results stand for.
NUMBER_TEXT_FIELDS = ("description", "number_raw", "owner__name", "location__name", "city", "trunk__name",
                      "note__text", "application")
NUMBER_OWN_TEXT_FIELDS = tuple(f for f in NUMBER_TEXT_FIELDS if "__" not in f)


def number_word_q(word: str) -> Q:
    """One word in any of NUMBER_TEXT_FIELDS as ``id IN (a UNION ALL of one query per table)``:
    the same rows as ``words_q([word], NUMBER_TEXT_FIELDS)``, each part reading its own trigram
    index, where the OR across the joined tables is checked row by row over the whole table
    (seconds at 1,000,000 rows)."""
    return Q(pk__in=_word_ids(word))


def _word_ids(word: str):
    """The ids of the numbers holding ``word``: one query per table, UNION ALL."""
    numbers = PhoneNumber.objects.order_by()
    own = words_q([word], NUMBER_OWN_TEXT_FIELDS)
    related = [numbers.filter(**{f"{fk}__in": model.objects.filter(name__icontains=word).values("pk")})
               for fk, model in (("owner", Owner), ("location", Location), ("trunk", Trunk))]
    return numbers.filter(own).values("pk").union(
        *(qs.values("pk") for qs in related),
        NumberNote.objects.filter(text__icontains=word).order_by().values("number_id"), all=True)


# Rows of the rarest word read to learn how often the other words come with it (a few ms).
SEARCH_PROBE_ROWS = 500


@dataclass(frozen=True)
class SearchPlan:
    q: Q
    estimate_factor: float | None = None  # for planner.correct_estimate (the planner is wrong about q)


def _frequent_words_plan(words: tuple[str, ...]) -> SearchPlan | None:
    """The OR across the joins (words_q), when the words match many numbers together: the page
    then walks its sort index and meets its rows within a few thousand, where the UNIONs read
    every matching row first and sort them. None: the UNIONs (number_word_q).

    How many match (PostgreSQL only): each word's own-column count is the planner's estimate
    (from the statistics of migration 0014's trigram index expressions). One word matching
    EXACT_COUNT_LIMIT numbers or more ("hotline") is many. Several words: the planner would
    multiply their frequencies as if independent, yet words come together ("support line") or
    never do, and walking the index for words that never meet is a scan of the whole table. So
    the rarest word's first SEARCH_PROBE_ROWS live numbers are read and checked against the other
    words: their share times the rarest word's count estimates the matches. Many: the OR; few:
    the words' id sets intersected; either way the list's count estimate is corrected by that share (an exact count
    through the OR is a scan)."""
    live = PhoneNumber.objects.order_by().filter(removed_at__isnull=True)
    own = {w: estimate_rows(live.filter(words_q([w], NUMBER_OWN_TEXT_FIELDS))) for w in set(words)}
    if None in own.values():  # no planner (SQLite)
        return None
    rarest = min(words, key=own.__getitem__)
    if own[rarest] < EXACT_COUNT_LIMIT:
        return None
    every = words_q(words, NUMBER_TEXT_FIELDS)
    if len(words) == 1:
        return SearchPlan(every)
    others = list(words)
    others.remove(rarest)
    sample = live.filter(words_q([rarest], NUMBER_OWN_TEXT_FIELDS)).values("pk")[:SEARCH_PROBE_ROWS]
    seen = PhoneNumber.objects.filter(pk__in=sample).aggregate(
        n=Count("pk"), m=Count("pk", filter=words_q(others, NUMBER_TEXT_FIELDS)))
    if not seen["n"]:
        return None
    rows = own[rarest] * seen["m"] / seen["n"]
    # Few: the words' id sets INTERSECTed (PostgreSQL), where "id IN (set) AND id IN (set)" looked
    # up every number of the first set before comparing (2x slower for two sets of 50,000).
    chosen = every if rows >= EXACT_COUNT_LIMIT else Q(pk__in=functools.reduce(
        lambda ids, word: ids.intersection(_word_ids(word)), words[1:], _word_ids(words[0])))
    # Either form: the planner's estimate is corrected by what the probe saw (the UNIONs' estimate
    # of words that never meet can be tens of thousands for no row at all).
    planner_rows = estimate_rows(live.filter(chosen))
    return SearchPlan(chosen, max(rows, 1) / planner_rows if planner_rows else None)


def _unions(words) -> Q:
    q = Q()
    for word in words:
        q &= number_word_q(word)
    return q


def search_plan(text: str) -> SearchPlan:
    """The numbers list's ``q``: every term must match (see the rule above)."""
    terms = parse_search(text)
    q = Q()
    for term in terms.numbers:
        q &= number_term_q(term)
    if terms.words and not terms.numbers and (plan := _frequent_words_plan(terms.words)):
        return plan
    return SearchPlan(q & _unions(terms.words))


def search_q(text: str) -> Q:
    return search_plan(text).q


class MomentField(forms.CharField):
    """A past moment: "2026-03-01" (the end of that day, local time), "2026-03-01 14:30" or ISO
    8601 with an offset. Naive times are local (settings.TIME_ZONE)."""

    def clean(self, value):
        text = (super().clean(value) or "").strip()
        if not text:
            return None
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            day = None
        if day is not None:
            moment = timezone.make_aware(dt.datetime.combine(day, dt.time.max))
        else:
            # A "+01:00" offset typed into a URL arrives as " 01:00" (a "+" in a query string is a space).
            text = re.sub(r"(\d:\d\d(?:\.\d+)?) (\d\d:?\d\d)$", r"\1+\2", text)
            try:
                moment = dt.datetime.fromisoformat(text.replace(" ", "T", 1))
            except ValueError:
                raise forms.ValidationError("Enter a date (2026-03-01) or a date and time (2026-03-01 14:30).")
            if timezone.is_naive(moment):
                moment = timezone.make_aware(moment)
        if moment.year < 2000:
            raise forms.ValidationError("Enter a date after 2000.")
        return min(moment, timezone.now())  # later than now is now: the live table


class MomentFilter(df.Filter):
    field_class = MomentField


class NumberFilterSet(FastFilterSet):
    q = df.CharFilter(method="filter_q", label="Search")
    provider = df.ChoiceFilter(choices=registry.choices, label="Provider")
    account = df.ModelChoiceFilter(queryset=ProviderAccount.objects.only("id", "name"), label="Account")
    country = BlankChoiceFilter(choices=(), label="Country", null_label=EMPTY_LABEL)
    region = BlankChoiceFilter(choices=(), label="Region", null_label=EMPTY_LABEL)
    city = BlankChoiceFilter(choices=(), label="City", null_label=EMPTY_LABEL)
    status = df.ChoiceFilter(choices=NumberStatus.choices, label="Status")
    kind = df.ChoiceFilter(choices=NumberKind.choices, label="Kind")
    # only(): choice lists render names; never load provider payloads for a dropdown.
    trunk = df.ModelChoiceFilter(queryset=Trunk.objects.only("id", "name"), label="Trunk", null_label=EMPTY_LABEL)
    trunk_group = df.ModelChoiceFilter(queryset=TrunkGroup.objects.only("id", "name"), label="Trunk group",
                                       null_label=EMPTY_LABEL)
    number_group = df.ModelChoiceFilter(queryset=NumberGroup.objects.only("id", "name"), label="DID group", widget=forms.HiddenInput)
    location = df.ModelChoiceFilter(
        queryset=Location.objects.filter(removed_at__isnull=True).only("id", "name", "kind", "city", "region", "country_code"),
        label="Location", null_label=EMPTY_LABEL)
    owner = df.ModelChoiceFilter(queryset=Owner.objects.only("id", "name"), label="Owner", widget=forms.HiddenInput,
                                 null_label=EMPTY_LABEL)
    owner_type = BlankChoiceFilter(choices=(), field_name="owner__owner_type", label="Owner type")
    has_owner = df.ChoiceFilter(choices=[("yes", "Has an owner"), ("no", "No owner")], method="filter_has_owner",
                                label="Assigned")
    has_cost = df.ChoiceFilter(choices=[("yes", "Has a monthly cost"), ("no", "No cost known")],
                               method="filter_has_cost", label="Cost")
    main_number = df.ChoiceFilter(choices=[("yes", "Main numbers"), ("no", "Not main")], method="filter_main",
                                  label="Main number")
    voice = df.ChoiceFilter(choices=YES_NO, method="filter_capability", label="Voice")
    sms = df.ChoiceFilter(choices=YES_NO, method="filter_capability", label="SMS")
    mms = df.ChoiceFilter(choices=YES_NO, method="filter_capability", label="MMS")
    pool = df.ModelChoiceFilter(queryset=NumberGroup.objects.filter(group_type=POOL_GROUP_TYPE).only("id", "name"),
                                field_name="pools", label="Number pool", distinct=False, null_label=EMPTY_LABEL)
    missing = df.ChoiceFilter(choices=[("yes", "Missing from the last listing"), ("no", "Listed")],
                              method="filter_missing", label="Missing")
    removed = df.ChoiceFilter(
        choices=[("live", "Hide removed"), ("only", "Only removed"), ("all", "Include removed")],
        method="filter_removed", label="Removed", empty_label=None,
    )
    expires_within = df.NumberFilter(method="filter_expires_within", label="Renews within (days)",
                                     min_value=0, max_value=3650)
    # Whether the provider says the number renews (PhoneNumber.will_renew).
    renews = df.ChoiceFilter(choices=[("yes", "Yes"), ("no", "No"), ("unknown", "Unknown")], method="filter_renews",
                             label="Renews")
    # DIDWW DID attributes.
    billing_cycles = df.ChoiceFilter(choices=[("zero", "0 (will not renew)"), ("limited", "Limited (1 or more)"),
                                              ("unlimited", "Not limited (renews)")],
                                     method="filter_billing_cycles", label="Billing cycles left")
    emergency = df.ChoiceFilter(choices=[("yes", "Yes"), ("no", "No"), ("unknown", "Unknown")],
                                method="filter_emergency", label="Emergency calling")
    # Local data (notes/tags): never written by a sync.
    tag = df.ModelChoiceFilter(queryset=Tag.objects.only("id", "name"), to_field_name="name", field_name="tags",
                               label="Tag", distinct=False, null_label=EMPTY_LABEL)
    has_note = df.ChoiceFilter(choices=[("yes", "Has a note"), ("no", "No note")], method="filter_has_note",
                               label="Note")

    negatable = ("provider", "account", "country", "region", "city", "status", "kind", "trunk", "trunk_group",
                 "location", "owner", "owner_type", "pool", "tag")
    primary = ("q", "provider", "account", "country", "status", "kind", "trunk", "location", "tag")
    archived = df.ChoiceFilter(
        choices=[("hide", "Hide archived accounts"), ("include", "Include archived accounts"),
                 ("only", "Only archived accounts")],
        method="filter_archived", label="Archived accounts", empty_label=None,
    )

    # The table rebuilt from history at that moment (asof.py); applied in qs, after the filters.
    as_of = MomentFilter(method="filter_as_of", label="As of",
                         help_text="A past date or time: the numbers as they were then, rebuilt from history.")

    defaults = {"removed": "live", "archived": "hide"}

    class Meta:
        model = PhoneNumber
        fields: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        asked = [self.data.get(key) for key in ("country", "country__n")] if self.data else ()
        for name, choices in _location_choices(held_countries=True, extra_countries=asked).items():
            self.filters[name].extra["choices"] = choices
        self.filters["owner_type"].extra["choices"] = _owner_type_choices()

    def filter_capability(self, queryset, name, value):
        # "no" also matches unknown (None): a provider that does not say is not SMS-capable.
        return queryset.filter(**{name: True}) if value == "yes" else queryset.exclude(**{name: True})

    @staticmethod
    def _tristate(queryset, field: str, value: str):
        if value == "unknown":
            return queryset.filter(**{f"{field}__isnull": True})
        return queryset.filter(**{field: value == "yes"})

    def filter_renews(self, queryset, name, value):
        return self._tristate(queryset, "will_renew", value)

    def filter_emergency(self, queryset, name, value):
        return self._tristate(queryset, "emergency_enabled", value)

    def filter_billing_cycles(self, queryset, name, value):
        if value == "zero":
            return queryset.filter(billing_cycles_count=0)
        if value == "limited":
            return queryset.filter(billing_cycles_count__gt=0)
        # No cycle limit and the provider says it renews (DIDWW null = renews without limit).
        return queryset.filter(billing_cycles_count__isnull=True, will_renew=True)

    def filter_has_owner(self, queryset, name, value):
        return queryset.filter(owner__isnull=value != "yes")

    def filter_has_cost(self, queryset, name, value):
        return queryset.filter(monthly_cost__isnull=value != "yes")

    def filter_has_note(self, queryset, name, value):
        return queryset.filter(note__isnull=value != "yes")

    def filter_expires_within(self, queryset, name, value):
        return queryset.filter(within_days("expires_at", timezone.now(), int(value)))

    def filter_main(self, queryset, name, value):
        return queryset.filter(is_main_number=True) if value == "yes" else queryset.exclude(is_main_number=True)

    def filter_q(self, queryset, name, value):
        plan = search_plan(value)
        qs = queryset.filter(plan.q)
        return correct_estimate(qs, plan.estimate_factor) if plan.estimate_factor else qs

    def filter_missing(self, queryset, name, value):
        # Missing numbers are live (not removed): the provider has not said they are gone.
        return queryset.filter(missing_since__isnull=value != "yes")

    def filter_removed(self, queryset, name, value):
        if value == "only":
            return queryset.filter(removed_at__isnull=False)
        if value == "all":
            return queryset
        return queryset

    def filter_archived(self, queryset, name, value):
        return queryset  # applied in qs, so the default ("hide") holds when the filter is absent

    def filter_as_of(self, queryset, name, value):
        return queryset  # applied in qs (asof.rebase), on the filtered query

    @property
    def qs(self):
        qs = super().qs
        data = self.form.cleaned_data if self.form.is_valid() else {}
        removed = data.get("removed") or "live"
        if removed == "live" and data.get("status") != NumberStatus.REMOVED:
            qs = qs.filter(removed_at__isnull=True)
        archived = data.get("archived") or "hide"
        if archived == "hide" and not data.get("account"):  # an archived account asked for by name shows
            qs = qs.filter(account__archived_at__isnull=True)
        elif archived == "only":
            qs = qs.filter(account__archived_at__isnull=False)
        if data.get("as_of"):
            qs = asof.rebase(qs, data["as_of"])
        return qs


class NameSearchMixin:
    """``q`` on a list without a number column: every word somewhere in ``search_fields``."""

    search_fields: tuple[str, ...] = ("name",)

    def filter_q(self, queryset, name, value):
        return queryset.filter(text_search_q(value, self.search_fields))


class TrunkFilterSet(NameSearchMixin, FastFilterSet):
    q = df.CharFilter(method="filter_q", label="Search")
    account = df.ModelChoiceFilter(queryset=ProviderAccount.objects.all(), label="Account")
    trunk_group = df.ModelChoiceFilter(queryset=TrunkGroup.objects.only("id", "name"), label="Trunk group",
                                       null_label=EMPTY_LABEL)
    negatable = ("account", "trunk_group")

    class Meta:
        model = Trunk
        fields: list[str] = []


class TrunkGroupFilterSet(NameSearchMixin, FastFilterSet):
    q = df.CharFilter(method="filter_q", label="Search")
    account = df.ModelChoiceFilter(queryset=ProviderAccount.objects.only("id", "name"), label="Account")
    negatable = ("account",)

    class Meta:
        model = TrunkGroup
        fields: list[str] = []


class NumberGroupFilterSet(NameSearchMixin, FastFilterSet):
    """DIDWW DID groups and Plivo number pools (one model, told apart by ``group_type``)."""

    q = df.CharFilter(method="filter_q", label="Search")
    account = df.ModelChoiceFilter(queryset=ProviderAccount.objects.only("id", "name"), label="Account")
    kind = df.ChoiceFilter(choices=[("did_group", "DID group (DIDWW)"), ("pool", "Number pool (Plivo)")],
                           method="filter_kind", label="Kind")
    negatable = ("account",)
    search_fields = ("name", "prefix")

    class Meta:
        model = NumberGroup
        fields: list[str] = []

    def filter_kind(self, queryset, name, value):
        pools = Q(group_type=POOL_GROUP_TYPE)
        return queryset.filter(pools if value == "pool" else ~pools)


class CallerIdFilterSet(FastFilterSet):
    """Expects a queryset annotated with ``state`` and ``owned_number_id`` (selectors.caller_id_queryset)."""

    q = df.CharFilter(method="filter_q", label="Search")
    account = df.ModelChoiceFilter(queryset=ProviderAccount.objects.only("id", "name"), label="Account")
    state = df.ChoiceFilter(choices=VerificationState.choices, label="Verification")
    expires_within = df.NumberFilter(method="filter_expires_within", label="Expires within (days)",
                                     min_value=0, max_value=3650)
    owned = df.ChoiceFilter(choices=[("yes", "Owned in a connected account"), ("no", "Not owned anywhere")],
                            method="filter_owned", label="Ownership")
    active = df.ChoiceFilter(choices=[("yes", "Active"), ("no", "Inactive")], method="filter_active", label="Active")
    code_attempts = df.ChoiceFilter(choices=ATTEMPTS, field_name="code_entering_attempts_left",
                                    method="filter_attempts", label="Code attempts left")
    call_attempts = df.ChoiceFilter(choices=ATTEMPTS, field_name="verification_call_attempts_left",
                                    method="filter_attempts", label="Call attempts left")
    # Webex candidates: the number's own location, and its flags.
    location = df.ModelChoiceFilter(
        queryset=Location.objects.filter(removed_at__isnull=True).only("id", "name", "kind", "city", "region", "country_code"),
        label="Location", null_label=EMPTY_LABEL)
    main_number = df.ChoiceFilter(choices=YES_NO, field_name="is_main_number", method="filter_flag", label="Main number")
    toll_free = df.ChoiceFilter(choices=YES_NO, field_name="toll_free_number", method="filter_flag", label="Toll-free")
    service_number = df.ChoiceFilter(choices=YES_NO, field_name="is_service_number", method="filter_flag",
                                     label="Service number")
    negatable = ("account", "state", "location")

    class Meta:
        model = CallerId
        fields: list[str] = []

    def filter_q(self, queryset, name, value):
        # The numbers list's rule (search_q) on the caller ID's own digit columns.
        terms = parse_search(value)
        q = Q()
        for term in terms.numbers:
            q &= number_term_q(term)
        return queryset.filter(q & words_q(terms.words, ("number_raw",)))

    def filter_expires_within(self, queryset, name, value):
        return queryset.filter(within_days("verified_until", timezone.localdate(), int(value)))

    def filter_active(self, queryset, name, value):
        return queryset.filter(active=value == "yes")

    def filter_owned(self, queryset, name, value):
        return queryset.filter(owned_number_id__isnull=value != "yes")

    def filter_attempts(self, queryset, name, value):
        if value == "none":
            return queryset.filter(**{name: 0})
        if value == "some":
            return queryset.filter(**{f"{name}__gt": 0})
        return queryset.filter(**{f"{name}__isnull": True})

    def filter_flag(self, queryset, name, value):
        # "no" also matches unknown (None), as the numbers list's capability filters do.
        return queryset.filter(**{name: True}) if value == "yes" else queryset.exclude(**{name: True})


class OwnerFilterSet(NameSearchMixin, FastFilterSet):
    q = df.CharFilter(method="filter_q", label="Search name")
    owner_type = df.ChoiceFilter(choices=(), label="Type")
    location = df.ModelChoiceFilter(queryset=Location.objects.filter(kind="site").only("id", "name", "kind"),
                                    label="Location", null_label=EMPTY_LABEL)
    account = df.ModelChoiceFilter(queryset=ProviderAccount.objects.only("id", "name"), label="Account")
    negatable = ("owner_type", "location", "account")
    search_fields = ("name", "first_name", "last_name")

    class Meta:
        model = Owner
        fields: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["owner_type"].extra["choices"] = _owner_type_choices()



class LocationFilterSet(NameSearchMixin, FastFilterSet):
    q = df.CharFilter(method="filter_q", label="Search")
    account = df.ModelChoiceFilter(queryset=ProviderAccount.objects.only("id", "name"), label="Account")
    country = BlankChoiceFilter(choices=(), field_name="country_code", label="Country", null_label=EMPTY_LABEL)
    kind = df.ChoiceFilter(choices=[("site", "Site (Webex)"), ("city", "City"), ("region", "Region"), ("country", "Country")],
                           label="Kind")
    negatable = ("account", "country", "kind")
    search_fields = ("name", "city", "region")

    class Meta:
        model = Location
        fields: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["country"].extra["choices"] = _location_choices()["country"]



class AuditLogFilterSet(FastFilterSet):
    action = df.ChoiceFilter(choices=(), label="Action")
    user = df.CharFilter(field_name="username", lookup_expr="icontains", label="User", max_length=150)
    target = df.CharFilter(lookup_expr="icontains", label="Target", max_length=200)
    date_from = df.DateFilter(field_name="at", lookup_expr="date__gte", label="From",
                              widget=forms.DateInput(attrs={"type": "date"}))
    date_to = df.DateFilter(field_name="at", lookup_expr="date__lte", label="To",
                            widget=forms.DateInput(attrs={"type": "date"}))

    class Meta:
        model = AuditLog
        fields: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The audit table is small (exports and admin actions only).
        actions = AuditLog.objects.order_by("action").values_list("action", flat=True).distinct()
        self.filters["action"].extra["choices"] = [(a, a) for a in actions]
