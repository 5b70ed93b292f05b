"""The verdict is shown once: the conclusion's text does not repeat it ("Good: Good: ...")."""

import re

from classmill.evaluate import build_report


def test_verdict_appears_once_in_text_html_and_cli_line(tmp_path, animals):
    y_true, probs, names = animals
    report = build_report(y_true, probs, names, tmp_path / "report")
    verdict, text = report.conclusion.verdict, report.conclusion.text
    assert verdict == "Poor"
    assert text.startswith("Accuracy ")
    assert not re.search(r"\b(Good|Fair|Poor):", text)
    cli_line = f"{verdict}: {text}"  # how `classmill evaluate` prints it
    assert cli_line.count(f"{verdict}:") == 1
    html = report.html_path.read_text(encoding="utf-8")
    block = html[html.index('<div class="verdict'):]
    block = block[:block.index("</div>")]
    assert len(re.findall(r"\bPoor\b", re.sub(r'class="[^"]*"', "", block))) == 1
