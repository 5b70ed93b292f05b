"""Every rule the dataset check can report has a title and a fix in the web catalog (web/check_rule_texts.py).

The rules are read from the source, not listed here: every Problem(...) / problem(...) call's rule, every
probe `failure_rule`, every stored problem dict's "rule". A rule added to the library without its entry fails
the first test, so it cannot reach a Chinese page as a bare code with an English fix.
"""

from __future__ import annotations

import ast
from pathlib import Path

import classmill
from classmill.server.web.check_rule_texts import RULE_TEXTS, rule_fix, rule_title
from classmill.server.web.i18n import translations

SRC = Path(classmill.__file__).parent
WEB = SRC / "server" / "web"
WRAPPERS = {"Problem", "problem"}  # the record and check.py's per-file shorthand for it


def rules_in(source: str) -> tuple[set[str], list[str]]:
    """The rule codes `source` can emit, and the calls whose rule cannot be told from the source (line: code)."""
    tree = ast.parse(source)
    constants = {target.id: node.value.value for node in tree.body if isinstance(node, ast.Assign)
                 and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
                 for target in node.targets if isinstance(target, ast.Name)}
    found: set[str] = set()
    unresolved: list[str] = []

    def text(node) -> str | None:
        return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None

    def visit(node, params: set[str]) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            # a wrapper's own rule parameter is passed on: its callers are scanned instead
            params = {a.arg for a in node.args.args + node.args.kwonlyargs} if node.name in WRAPPERS else set()
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            rule = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "rule"), None)
            if name in WRAPPERS and rule is not None:
                if text(rule) is not None:
                    found.add(text(rule))
                elif isinstance(rule, ast.Name) and rule.id in constants:
                    found.add(constants[rule.id])
                elif not (isinstance(rule, ast.Name) and rule.id in params
                          or isinstance(rule, ast.Attribute) and rule.attr == "failure_rule"):
                    unresolved.append(f"{node.lineno}: {ast.unparse(node)[:80]}")
            found.update(text(k.value) for k in node.keywords if k.arg == "failure_rule" and text(k.value))
        if isinstance(node, ast.Assign):
            for target in node.targets:
                pairs = (zip(target.elts, node.value.elts) if isinstance(target, ast.Tuple)
                         and isinstance(node.value, ast.Tuple) else [(target, node.value)])
                found.update(text(value) for key, value in pairs
                             if isinstance(key, ast.Attribute) and key.attr == "failure_rule" and text(value))
        if isinstance(node, ast.Dict):
            found.update(text(value) for key, value in zip(node.keys, node.values)
                         if key is not None and text(key) == "rule" and text(value))
        for child in ast.iter_child_nodes(node):
            visit(child, params)

    visit(tree, set())
    return found, unresolved


def emitted_rules() -> set[str]:
    found: set[str] = set()
    unresolved: list[str] = []
    for path in sorted(SRC.rglob("*.py")):
        if WEB in path.parents:
            continue  # the pages show rules, they emit none (and the table itself would count)
        rules, unclear = rules_in(path.read_text(encoding="utf-8"))
        found |= rules
        unresolved += [f"{path.relative_to(SRC)}:{where}" for where in unclear]
    assert unresolved == [], "a problem's rule the scan cannot read: write it as a literal or a module constant"
    return found


def test_the_scan_finds_every_way_a_rule_is_written():
    rules, unclear = rules_in('''
RULE = "from_a_constant"
def f(probe, result, x):
    Problem("literal", "error", "m", "f")
    Problem(RULE, "error", "m", "f")
    Problem(rule="by_keyword", severity="error", message="m", fix="f")
    def problem(rule, severity, message, fix):
        return Problem(rule, severity, message, fix)
    problem("through_the_wrapper", "error", "m", "f")
    problem(probe.failure_rule, "error", "m", "f")
    result.failure_rule, result.failure_detail = "probe_pair", "detail"
    result.failure_rule = "probe_single"
    ProbeResult(failure_rule="probe_keyword")
    report.append({"rule": "stored_dict", "severity": "error"})
    Problem(**saved)
    Problem(x.rule, "error", "m", "f")
''')
    assert rules == {"from_a_constant", "literal", "by_keyword", "through_the_wrapper", "probe_pair", "probe_single",
                     "probe_keyword", "stored_dict"}
    assert [line.split(":")[0] for line in unclear] == ["16"]  # x.rule: unknown, so the test says so


def test_every_rule_the_library_emits_has_a_title_and_a_fix():
    emitted = emitted_rules()
    assert {"truncated", "image_too_large", "path_outside_root", "unsafe_archive_entry", "bad_labels_file",
            "class_too_small_to_split", "undecodable"} <= emitted  # the scan reaches every kind of source
    assert sorted(emitted - set(RULE_TEXTS)) == [], "add the new rule's title and fix to server/web/check_rule_texts.py"
    assert sorted(set(RULE_TEXTS) - emitted) == [], "the table names rules nothing emits any more"


def test_the_chinese_catalog_translates_every_title_and_fix_and_titles_differ():
    chinese = translations("zh_CN")
    untranslated = [text for pair in RULE_TEXTS.values() for text in pair if chinese.gettext(text) == text]
    assert untranslated == []
    titles = [chinese.gettext(title) for title, _ in RULE_TEXTS.values()]
    assert len(set(titles)) == len(titles)  # two rules must not read the same on a page
    assert len({title for title, _ in RULE_TEXTS.values()}) == len(RULE_TEXTS)


def test_english_keeps_the_library_fix_chinese_shows_the_table_unknown_rules_fall_back():
    english, chinese = translations("en").gettext, translations("zh_CN").gettext
    library = "Rename it to .png (it is read by its content, so it still works)."
    assert rule_fix("extension_mismatch", library, english) == library  # names the extension: more specific
    assert rule_fix("extension_mismatch", library, chinese) == chinese(RULE_TEXTS["extension_mismatch"][1])
    assert rule_title("extension_mismatch", chinese) == "扩展名与内容不符"
    # the library's fix names a command-line flag: the page's own words in English too
    assert rule_fix("class_imbalance", "train with --class-balance weights|sampler", english) == \
        RULE_TEXTS["class_imbalance"][1]
    assert rule_fix("rule_of_tomorrow", "The library's fix.", chinese) == "The library's fix."
    assert rule_title("rule_of_tomorrow", chinese) == "rule_of_tomorrow"
