import pytest

from workbench.words import counted, plural


@pytest.mark.parametrize(
    ("n", "noun", "plural", "expected"),
    [
        (1, "item", None, "1 item"),
        (0, "item", None, "0 items"),
        (2, "new external rater", None, "2 new external raters"),
        (1, "child", "children", "1 child"),
        (3, "child", "children", "3 children"),
    ],
)
def test_counted_puts_the_noun_in_the_plural_unless_there_is_one(n, noun, plural, expected):
    assert counted(n, noun, plural) == expected


def test_plural_is_the_noun_without_its_number():
    assert (plural(1, "machine rater"), plural(2, "machine rater"), plural(0, "child", "children")) == (
        "machine rater",
        "machine raters",
        "children",
    )
