from workbench.textdiff import Run, word_diff


def test_runs_rebuild_both_texts():
    a = "The quick brown fox jumps over the lazy dog.\nIt was fast."
    b = "The quick red fox leaps over the lazy dog.\nIt was fast."
    runs = word_diff(a, b)
    assert "".join(r.text for r in runs if r.op != "insert").replace("\n", " ").split() == a.split()
    assert "".join(r.text for r in runs if r.op != "delete") == b
    assert [r for r in runs if r.op != "equal"] == [
        Run("delete", "brown "),
        Run("insert", "red "),
        Run("delete", "jumps "),
        Run("insert", "leaps "),
    ]


def test_identical_and_disjoint():
    assert word_diff("same words", "same words") == [Run("equal", "same words")]
    assert [r.op for r in word_diff("alpha", "beta")] == ["delete", "insert"]
