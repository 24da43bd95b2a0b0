"""The learner notebooks (tools/learner_notebooks.py): what Colab, JupyterLab and VS Code open.

Static checks, fast: the MyST -> Markdown mapping, and the generated notebooks (no raw MyST, solutions hidden
for Colab and JupyterLab, starters present, setup cell first, no outputs, no tags). Colab's "Run all" is
simulated in test_learner_run_all.py.
"""

import re
import subprocess
import sys

import nbformat
import pytest

from tools.course import ROOT, chapter_notebooks, exercises, is_solution
from tools.learner_notebooks import UnknownMarkup, build, convert_markdown

CHAPTERS = chapter_notebooks()
# Written out here (not taken from the tool) so that the test does not trust the tool's own pattern.
RAW_MYST = [
    ":::",
    "```{",
    "{exercise",
    "{solution",
    "{note}",
    "{tip}",
    "{warning}",
    "{figure}",
    "{term}",
    "{ref}",
    "{doc}",
    "{numref}",
    "{math}",
    "{eq}",
    ":label:",
    ":class:",
    ":name:",
]


@pytest.fixture(scope="module")
def learner(tmp_path_factory):
    out = tmp_path_factory.mktemp("learner")
    written = build(out)
    assert [p.name for p in written] == [p.name for p in CHAPTERS]
    return {p.name: (p, nbformat.read(p, as_version=4)) for p in written}


def test_no_chapter_has_a_cell_that_raises_on_purpose():
    """Colab's and Jupyter's Run all stop at such a cell; errors are shown with helpers.shows_error."""
    tagged = [
        f"{path.name}: {cell.source.splitlines()[0]!r}"
        for path in CHAPTERS
        for cell in nbformat.read(path, as_version=4).cells
        if "raises-exception" in cell.metadata.get("tags", [])
    ]
    assert not tagged, f"cells tagged raises-exception (use `with helpers.shows_error(...)`): {tagged}"


# ---- the mapping -------------------------------------------------------------------------------------------


def test_exercise_becomes_a_numbered_heading_with_stars_and_practises():
    source = (
        ":::{exercise} ★★ Shapes from the right\n:label: ex-3.4\n\n"
        "**Practises:** broadcasting (objective 2).\n\nWrite `f`.\n:::"
    )
    assert convert_markdown(source) == (
        "### Exercise 3.4 ★★ Shapes from the right\n\n**Practises:** broadcasting (objective 2).\n\nWrite `f`."
    )


def test_exercise_without_label_is_an_error():
    with pytest.raises(UnknownMarkup, match="no :label:"):
        convert_markdown(":::{exercise} ★ Title\nBody\n:::")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("```{note}\nMind the device.\nSecond line.\n```", "> **Note:** Mind the device.\n> Second line."),
        ("::::{warning}\nA pickle is a program.\n::::", "> **Warning:** A pickle is a program."),
        (
            ":::{tip} Check before you train\nTwo checks.\n\n1. loss\n:::",
            "> **Tip: Check before you train**\n>\n> Two checks.\n>\n> 1. loss",
        ),
        (":::{admonition} Why\n:class: dropdown\nBecause.\n:::", "> **Why**\n>\n> Because."),
    ],
)
def test_admonitions_become_block_quotes(source, expected):
    assert convert_markdown(source) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("a {term}`leaf tensor` here", "a **leaf tensor** here"),
        ("a {term}`leaves <leaf tensor>` here", "a **leaves** here"),
        ("see {ref}`ex-2.3`", "see Exercise 2.3"),
        ("see {ref}`the loop <sec-loop>`", "see the loop"),
        ("see {ref}`sec-loop`", "see The training loop"),
        ("see {doc}`Chapter 2 <02_autograd>`", "see Chapter 2"),
        ("see {numref}`Figure %s <fig-map>`", "see Figure"),
        ("see the {doc}`../glossary`", "see the Glossary"),
        ("where {math}`\\eta < 2/h` holds", "where $\\eta < 2/h$ holds"),
        ("dollar math $x^2$ and\n$$\ny = 1\n$$", "dollar math $x^2$ and\n$$\ny = 1\n$$"),
    ],
)
def test_roles_become_plain_text(source, expected):
    assert convert_markdown(source, labels={"sec-loop": "The training loop"}) == expected


def test_targets_and_comments_are_dropped_and_code_fences_kept():
    source = "(sec-loop)=\n## The loop\n% a comment\n```python\n{term}`not a role in code`\n```"
    assert convert_markdown(source) == "## The loop\n```python\n{term}`not a role in code`\n```"


def test_figures_become_images_with_a_caption():
    source = "```{figure} ../_static/map.svg\n:name: fig-map\n:width: 80%\n\nThe course map.\n```"
    assert convert_markdown(source, repo_files="https://raw.example/main") == (
        "![The course map.](https://raw.example/main/_static/map.svg)\n\n*The course map.*"
    )


def test_math_directive_becomes_dollar_math():
    assert convert_markdown("```{math}\n:label: eq-sgd\nw = w - \\eta g\n```") == "$$\nw = w - \\eta g\n$$"


@pytest.mark.parametrize(
    "source", ["```{mermaid}\ngraph\n```", "{cite}`paper`", ":::{note}\nnever closed", "{ref}`no-such-label`"]
)
def test_unknown_or_broken_markup_is_an_error_not_a_silent_leftover(source):
    with pytest.raises(UnknownMarkup):
        convert_markdown(source)


# ---- the generated notebooks ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_no_raw_myst_is_left(learner, path):
    _, nb = learner[path.name]
    left = [
        (marker, cell.source[:120])
        for cell in nb.cells
        if cell.cell_type == "markdown"
        for marker in RAW_MYST
        if marker in cell.source
    ]
    assert not left, f"{path.name}: raw MyST in the learner notebook: {left}"
    assert not [line for c in nb.cells for line in c.source.splitlines() if re.match(r"^\([\w.-]+\)=$", line)]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_solution_is_hidden_in_colab_and_jupyterlab_below_a_visible_line(learner, path):
    _, nb = learner[path.name]
    source = nbformat.read(path, as_version=4)
    solution_ids = [c.id for c in source.cells if c.cell_type == "code" and is_solution(c)]
    assert solution_ids, f"{path.name} has no solution cells"
    by_id = {c.id: i for i, c in enumerate(nb.cells)}
    for cell_id in solution_ids:
        index = by_id[cell_id]
        cell = nb.cells[index]
        assert cell.metadata.get("cellView") == "form" and cell.source.startswith("# @title"), "Colab form"
        assert cell.metadata.get("jupyter", {}).get("source_hidden") is True, "JupyterLab / Notebook 7"
        before = nb.cells[index - 1]
        assert before.cell_type == "markdown" and before.source.startswith("**Solution to Exercise"), before
        assert "click" in before.source


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_each_exercise_has_its_heading_and_its_visible_starter(learner, path):
    _, nb = learner[path.name]
    text = [c.source for c in nb.cells]
    for ex in exercises(path):
        number = ex.id.removeprefix("ex-")
        stars = "★" * ex.difficulty
        assert any(s.startswith(f"### Exercise {number} {stars} {ex.title}") for s in text), ex.id
        assert ex.objective and any(f"**Practises:** {ex.objective}" in s for s in text), ex.id
        starters = [c for c in nb.cells if c.cell_type == "code" and c.source == ex.starter]
        assert ex.starter and starters, f"{ex.id}: starter cell missing"
        assert not starters[0].metadata.get("jupyter", {}).get("source_hidden"), f"{ex.id}: starter hidden"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_setup_cell_first_no_outputs_no_book_tags(learner, path):
    _, nb = learner[path.name]
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].source.startswith("# @title Setup") and code[0].metadata.get("cellView") == "form"
    assert all(not c.outputs and c.execution_count is None for c in code)
    assert not [c.metadata.get("tags") for c in nb.cells if c.metadata.get("tags")]
    assert not [c for c in nb.cells if "{solution-end}" in c.source]
    nbformat.validate(nb)


def test_the_command_writes_the_notebooks_at_the_chapter_paths(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "tools.learner_notebooks", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "chapters").glob("*.ipynb")) == [p.name for p in CHAPTERS]
    assert "wrote 8 learner notebooks" in result.stdout or f"wrote {len(CHAPTERS)}" in result.stdout


def test_generated_notebooks_are_not_tracked_by_git():
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "_build/learner/chapters/01_tensors.ipynb"], cwd=ROOT
    ).returncode
    assert ignored == 0, "add _build/ to .gitignore"


def test_colab_opens_the_notebooks_branch_named_once_in_the_config(tmp_path):
    from tools.course import notebooks_branch, repository
    from tools.site.checks import colab_url

    assert notebooks_branch() == "notebooks" != repository()[1]
    assert "/blob/notebooks/chapters/01_tensors.ipynb" in colab_url("chapters/01_tensors.ipynb")
    config = tmp_path / "_config.yml"
    config.write_text("repository:\n  url: https://github.com/a/b\n  branch: v2\n")
    assert notebooks_branch(config) == "v2", (
        "without the theme setting, the launch button uses repository.branch"
    )
    config.write_text(
        "repository:\n  url: https://github.com/a/b\n  branch: v2\n"
        "sphinx:\n  config:\n    html_theme_options:\n      repository_branch: nb\n"
    )
    assert notebooks_branch(config) == "nb"
    assert colab_url("chapters/03_nn.ipynb", config).endswith("/github/a/b/blob/nb/chapters/03_nn.ipynb")


def test_cell_tags_map_to_what_colab_and_jupyterlab_honour():
    from tools.learner_notebooks import learner_notebook

    new_code, new_md = nbformat.v4.new_code_cell, nbformat.v4.new_markdown_cell
    nb = nbformat.v4.new_notebook(
        cells=[
            new_md("# Title"),
            new_code(
                "# @title Setup\npass", metadata={"tags": ["remove-cell", "colab-setup"], "cellView": "form"}
            ),
            new_md("only for the website", metadata={"tags": ["remove-cell"]}),
            new_code("hidden_state = 1", metadata={"tags": ["remove-cell"]}),
            new_code("plot()", metadata={"tags": ["hide-input", "my-tag"]}),
            new_code("noisy()", metadata={"tags": ["remove-output"]}),
            new_code("x = 1", outputs=[nbformat.v4.new_output("stream", text="1\n")], execution_count=3),
        ]
    )
    learner = learner_notebook(nb)
    sources = [c.source for c in learner.cells]
    assert "only for the website" not in sources, "a website-only Markdown cell is dropped"
    assert sources[1] == "# @title Setup\npass" and learner.cells[1].metadata["cellView"] == "form"
    state, plot, noisy, plain = learner.cells[2:]
    assert state.source == "# @title Show code\nhidden_state = 1", "kept (later cells may use it), collapsed"
    assert state.metadata["jupyter"]["source_hidden"] and state.metadata["cellView"] == "form"
    assert plot.metadata["jupyter"]["source_hidden"] and plot.metadata["tags"] == ["my-tag"]
    assert noisy.metadata["jupyter"]["outputs_hidden"] and "tags" not in noisy.metadata
    assert plain.outputs == [] and plain.execution_count is None
    assert nb.cells[6].outputs, "the source notebook is not changed"
