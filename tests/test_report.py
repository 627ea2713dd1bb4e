"""Benchmark report helpers: table formatting and README splicing."""
from parapolicy.scripts.report import fmt, markdown_table, save_report, splice_readme


def test_markdown_table_and_fmt():
    table = markdown_table([{"a": 0.123456, "b": None, "c": [0.5, 0.75]}], [("a", "A"), ("b", "B"), ("c", "C")])
    lines = table.splitlines()
    assert lines[0] == "| A | B | C |" and lines[2] == "| 0.123 | – | 0.50–0.75 |"
    assert fmt(float("nan")) == "–" and fmt(True) == "yes" and fmt(123456.7) == "123457"


def test_splice_readme_replaces_only_the_marked_section(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- bench:x -->\nold\n<!-- /bench:x -->\noutro\n")
    assert splice_readme(readme, "x", "| new |")
    assert readme.read_text() == "intro\n<!-- bench:x -->\n| new |\n<!-- /bench:x -->\noutro\n"
    assert not splice_readme(readme, "missing", "zzz")
    assert "zzz" not in readme.read_text()


def test_save_report_writes_json_and_md(tmp_path):
    js, md = save_report(tmp_path / "out", "bench", {"rows": [1]}, "| t |")
    assert js.read_text().strip().startswith("{") and md.read_text() == "| t |\n"
