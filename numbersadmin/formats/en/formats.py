"""One date format across the site: ISO dates, 24-hour times, no seconds (a template showing a
date or time without an explicit format gets these; templates that need a format name it as
"DATETIME_FORMAT" / "DATE_FORMAT", so a page never mixes "Dec. 4, 2026, 11:38 a.m." with
"2026-12-04 11:38"). Tables render dates as ISO too (tables.py)."""

DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i"
TIME_FORMAT = "H:i"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
MONTH_DAY_FORMAT = "j F"
YEAR_MONTH_FORMAT = "F Y"
