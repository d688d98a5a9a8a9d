"""docs/explain.md pastes real output: re-run each command shown there and compare.

After changing what explain prints, refresh the doc with
`python tests/explain/test_explain_docs.py`.
"""
import contextlib
import io
import os
import re
import shlex
from pathlib import Path

import pytest

from onebyone.cli import main

DOC = Path(__file__).resolve().parents[2] / "docs" / "explain.md"
VARIES = ("--measure",)  # timings: the doc says the numbers change from run to run


def _commands():
    """(command, expected output) for every '$ onebyone ...' line in a console block."""
    found = []
    for block in re.findall(r"```console\n(.*?)```", DOC.read_text(), flags=re.S):
        for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, _, output = chunk.partition("\n")
            found.append((command, output.rstrip("\n")))
    return found


def test_doc_shows_each_question_with_a_command():
    text = DOC.read_text()
    questions = re.findall(r'^## "(.*)"$', text, flags=re.M)
    assert len(questions) == 7
    for q in questions:  # each question's section has its command and its output
        section = text.split(f'## "{q}"')[1].split("\n## ")[0]
        assert "```console\n$ onebyone explain" in section, q
    assert "![" in text and (DOC.parent / "explain.png").exists()


def _id(value):
    return value if value.startswith("onebyone") else ""


@pytest.mark.parametrize("command, expected", _commands(), ids=_id)
def test_doc_output_is_what_the_command_prints(command, expected, capsys, monkeypatch):
    if any(flag in command for flag in VARIES):
        pytest.skip("measured timings differ between runs")
    monkeypatch.setenv("COLUMNS", "100")  # the width the doc was made at
    argv = shlex.split(command)
    assert argv[0] == "onebyone"
    with pytest.raises(SystemExit) as exit_info:
        main(argv[1:])
    out = capsys.readouterr()
    printed = "\n".join(line.rstrip() for line in (out.out + out.err).rstrip("\n").splitlines())
    assert exit_info.value.code == (2 if printed.startswith("onebyone: error:") else 0)
    assert printed == expected


def _printed(command):
    """(exit code, what `command` prints on stdout and stderr) at the doc's width, in-process."""
    os.environ["COLUMNS"] = "100"
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            main(shlex.split(command)[1:])
        except SystemExit as e:
            code = e.code
    return code, "\n".join(line.rstrip() for line in out.getvalue().rstrip("\n").splitlines())


def refresh():
    """Rewrite every console block of the doc with the output its commands print now."""
    def block(match):
        commands = re.findall(r"^\$ (.*)$", match.group(1), flags=re.M)
        return "```console\n" + "".join(f"$ {c}\n{_printed(c)[1]}\n" for c in commands) + "```"

    DOC.write_text(re.sub(r"```console\n(.*?)```", block, DOC.read_text(), flags=re.S))


if __name__ == "__main__":
    refresh()


def test_doc_describes_the_page_that_is_written():
    """The prose about --html says what the page holds, checked against a page made here."""
    import onebyone
    from onebyone.explanation import svg
    from onebyone.explanation.page import to_html

    e = onebyone.explain("28x28x192", filters=32)
    html = to_html([e])
    section = DOC.read_text().split("## The HTML page")[1].split("\n## ")[0]
    section = " ".join(section.split())
    assert ("no script" in section) == ("<script" not in html)
    ratio = svg.depth_scale(192, 32) * 192 / (svg.depth_scale(192, 32) * 32)  # one linear scale
    assert f"192 channels draw {ratio:g}x as deep as 32" in section
    for words, on_page in (("the answers in words", e.answers[0].question),
                           ("the PyTorch code", "torch.testing.assert_close")):
        assert (words in section) == (on_page in html), words
