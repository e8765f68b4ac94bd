import pytest

from metalizer_site.downloads import parse_range


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", None),
        ("bytes=0-99", (0, 99)),
        ("bytes=500-", (500, 999)),
        ("bytes=-100", (900, 999)),
        ("bytes=900-5000", (900, 999)),
        ("bytes=1000-", "unsatisfiable"),
        ("bytes=50-10", "unsatisfiable"),
        ("bytes=0-1,5-9", None),  # several ranges: send the whole file
        ("items=0-1", None),
    ],
)
def test_parse_range_reads_single_byte_ranges(header, expected):
    assert parse_range(header, 1000) == expected
