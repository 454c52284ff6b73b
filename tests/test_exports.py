import pytest

from numbersadmin.inventory.services.exports import neutralise


@pytest.mark.parametrize("value, expected", [
    ("+14155550100", "+14155550100"),          # exactly E.164: kept (documented rule)
    ("+1 415 555", "'+1 415 555"),              # not pure E.164: neutralised
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
    ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("\tcmd", "'\tcmd"), ("\rcmd", "'\rcmd"),
    ("+1234567890123456", "'+1234567890123456"),  # 16 digits: longer than E.164 allows
    ("plain", "plain"), (None, ""), (True, "yes"), (False, "no"),
])
def test_csv_cells_are_neutralised(value, expected):
    assert neutralise(value) == expected
