"""Generate the learner notebooks: the chapters as Colab, JupyterLab, Notebook 7 and VS Code render them well.

The chapter notebooks are written for the website (MyST Markdown, sphinx-exercise directives, cell tags that
Jupyter Book reads). Outside the website those show as raw markup. This tool writes a copy of every chapter
with that markup turned into plain Markdown, the solutions collapsed, and no outputs:

    python -m tools.learner_notebooks                  # writes _build/learner/chapters/NN_*.ipynb
    python -m tools.learner_notebooks --out DIR        # writes DIR/chapters/NN_*.ipynb
    jupyter lab _build/learner/chapters                # open them locally

The Pages workflow publishes the same files to the repository's ``notebooks`` branch (see
``tools.course.notebooks_branch``), at the same paths, and the website's Colab button opens them there.

The mapping (every construct the chapters use; anything else MyST-only makes the tool fail, naming the cell):

==========================================  ================================================================
chapter source                              learner notebook
==========================================  ================================================================
``:::{exercise} ★★ Title`` + ``:label:``   ``### Exercise N.M ★★ Title`` (the number comes from the label)
``:::{solution-start} ex-N.M`` cell         ``**Solution to Exercise N.M** (click the hidden cell below ...)``
solution code cell (tag ``solution``)       hidden: Colab ``cellView: form`` + ``# @title`` first line, and
                                            JupyterLab/Notebook 7 ``"jupyter": {"source_hidden": true}``
``:::{solution-end}`` cell                  dropped
admonitions (``note``, ``tip``, ...)        a block quote: ``> **Note:** ...`` (with its title if it has one)
``{term}`/`{ref}`/`{doc}`/`{numref}```      the role's text (``{ref}`` to an exercise: "Exercise N.M")
``{math}`x```, ``{math}`` blocks            ``$x$``, ``$$ ... $$`` (dollar math stays as it is)
``{figure}``/``{image}``                    ``![caption](URL)`` + an italic caption (URL on the repository)
``(label)=`` targets, ``% comments``        dropped
setup cell (tag ``colab-setup``)            kept as the first code cell, a Colab form
other code cells tagged ``remove-cell``     kept (later cells may need them), source hidden
markdown cells tagged ``remove-cell``       dropped (the website never shows them either)
``hide-input``/``remove-input`` code cells  source hidden (Colab form and JupyterLab), output shown
every cell                                  no outputs, no execution count, no Jupyter Book tags
==========================================  ================================================================
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from tools import course
from tools.course import ROOT

DEFAULT_OUT = ROOT / "_build" / "learner"

# Tags Jupyter Book and nbval read; a learner notebook carries none of them (Colab's Run all ignores them).
_BOOK_TAGS = {
    "remove-cell",
    "remove-input",
    "remove-output",
    "hide-cell",
    "hide-input",
    "hide-output",
    "scroll-output",
    "raises-exception",
    "nbval-ignore-output",
    "nbval-skip",
    "solution",
    "colab-setup",
}
_ADMONITIONS = {
    "note": "Note",
    "tip": "Tip",
    "hint": "Hint",
    "important": "Important",
    "warning": "Warning",
    "caution": "Caution",
    "attention": "Attention",
    "danger": "Danger",
    "error": "Error",
    "seealso": "See also",
    "admonition": "",
}
# an opening fence: ``` or ::: (3 or more), a {directive}, its argument
_OPEN = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[\w-]+)\}[ \t]*(?P<arg>.*)$")
_OPTION = re.compile(r"^:(?P<key>[\w-]+):[ \t]*(?P<value>.*)$")
_ROLE = re.compile(r"\{(?P<role>[\w:-]+)\}`(?P<body>[^`]*)`")
_EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.S)
_TARGET = re.compile(r"^\((?P<label>[^()\s]+)\)=\s*$")
_EXERCISE_LABEL = re.compile(r"^ex-(?P<number>\d+\.\d+)$")
# What must never reach a learner: MyST directive fences, directive options, roles, targets.
RAW_MYST = re.compile(
    r"^\s*:::|^\s*`{3,}\{|^:[\w-]+:|\{(exercise|solution[\w-]*|note|tip|warning|figure|math)\}"
    r"|\{(term|ref|doc|numref|eq|math|download|abbr|sub-ref)\}`|^\([\w.-]+\)=\s*$",
    re.M,
)


class UnknownMarkup(ValueError):
    """A MyST construct this tool has no mapping for (add one to the table in the module docstring)."""


def _exercise_number(label: str) -> str:
    match = _EXERCISE_LABEL.match(label.strip())
    if not match:
        raise UnknownMarkup(f"exercise label {label!r} is not of the form ex-N.M")
    return match.group("number")


def _role(match: re.Match, labels: dict[str, str]) -> str:
    role, body = match.group("role"), match.group("body")
    explicit = _EXPLICIT.match(body)
    text, target = (explicit.group("text"), explicit.group("target")) if explicit else ("", body)
    if role == "math":
        return f"${body}$"
    if role in ("term", "abbr"):
        return f"**{text or target}**"
    if role in ("ref", "numref", "doc", "download", "eq"):
        if text:
            return text.replace("{number}", "").replace("%s", "").strip() or target
        if _EXERCISE_LABEL.match(target):
            return f"Exercise {_exercise_number(target)}"
        if role == "doc":
            return Path(target).stem.replace("_", " ").lstrip("0123456789 ").capitalize()
        if role == "eq":
            return f"({target})"
        if target not in labels:
            raise UnknownMarkup(
                f"{{{role}}}`{target}` names no (label)= target in the chapters: give it a text"
            )
        return labels[target]
    raise UnknownMarkup(f"role {{{role}}} has no mapping")


def _roles(lines: list[str], labels: dict[str, str]) -> list[str]:
    """Replace the MyST roles, except inside fenced code blocks."""
    out, fence = [], ""
    for line in lines:
        if fence:
            fence = "" if line.startswith(fence) else fence
            out.append(line)
        elif line.startswith(("```", "~~~")):
            fence = line[: len(line) - len(line.lstrip(line[0]))]
            out.append(line)
        else:
            out.append(_ROLE.sub(lambda m: _role(m, labels), line))
    return out


def _split_body(lines: list[str]) -> tuple[dict[str, str], list[str]]:
    """A directive's leading ``:key: value`` options and the rest of its body."""
    options: dict[str, str] = {}
    i = 0
    while i < len(lines) and _OPTION.match(lines[i]):
        match = _OPTION.match(lines[i])
        assert match
        options[match.group("key")] = match.group("value").strip()
        i += 1
    while i < len(lines) and not lines[i].strip():
        i += 1
    return options, lines[i:]


def _quote(lines: list[str]) -> list[str]:
    return [f"> {line}" if line.strip() else ">" for line in lines]


def _directive(name: str, arg: str, body: list[str], repo_files: str, labels: dict[str, str]) -> list[str]:
    options, rest = _split_body(body)
    rest = _blocks(rest, repo_files, labels)
    if name == "exercise":
        if "label" not in options:
            raise UnknownMarkup(f"exercise {arg!r} has no :label:")
        title = arg.strip()
        stars = title[: len(title) - len(title.lstrip("★ "))].strip()
        name_ = title.lstrip("★ ").strip()
        heading = " ".join(p for p in (f"Exercise {_exercise_number(options['label'])}", stars, name_) if p)
        return [f"### {heading}", "", *rest]
    if name in _ADMONITIONS:
        if arg.strip():  # a titled admonition: "Tip: title" on its own line
            kind = _ADMONITIONS[name]
            return _quote([f"**{kind}: {arg.strip()}**" if kind else f"**{arg.strip()}**", "", *rest])
        if rest and rest[0].strip() and not rest[0].startswith(("```", "~~~", "    ", "* ", "- ", "|")):
            return _quote([f"**{_ADMONITIONS[name]}:** {rest[0]}", *rest[1:]])
        return _quote([f"**{_ADMONITIONS[name]}:**", "", *rest])
    if name in ("figure", "image"):
        url = (
            arg.strip() if re.match(r"https?://", arg.strip()) else f"{repo_files}/{arg.strip().lstrip('./')}"
        )
        caption = " ".join(line.strip() for line in rest if line.strip())
        alt = options.get("alt", caption or Path(arg.strip()).stem)
        out = [f"![{alt}]({url})"]
        return [*out, "", f"*{caption}*"] if caption and name == "figure" else out
    if name == "math":
        return ["$$", *rest, "$$"]
    if name in ("code-block", "code", "code-cell"):
        return [f"```{arg.strip()}", *rest, "```"]
    raise UnknownMarkup(f"directive {{{name}}} has no mapping")


def _blocks(lines: list[str], repo_files: str, labels: dict[str, str]) -> list[str]:
    """Rewrite the directive blocks in ``lines`` (nested ones too), leaving plain Markdown as it is."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        opening = _OPEN.match(line.strip())
        if opening:
            fence = opening.group("fence")
            depth, j = 1, i + 1
            while j < len(lines):
                stripped = lines[j].strip()
                inner = _OPEN.match(stripped)
                if inner and inner.group("fence")[0] == fence[0] and len(inner.group("fence")) == len(fence):
                    depth += 1
                elif stripped == fence:
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            if j == len(lines):
                raise UnknownMarkup(f"directive {line.strip()!r} is never closed")
            out += _directive(
                opening.group("name"), opening.group("arg"), lines[i + 1 : j], repo_files, labels
            )
            i = j + 1
            continue
        if line.startswith("```") or line.startswith("~~~"):  # a plain code fence: copy it untouched
            fence = line[: len(line) - len(line.lstrip(line[0]))]
            j = i + 1
            while j < len(lines) and not lines[j].startswith(fence):
                j += 1
            out += lines[i : j + 1]
            i = j + 1
            continue
        if _TARGET.match(line) or line.startswith("% "):
            i += 1
            continue
        out.append(line)
        i += 1
    return out


def _without_code_fences(lines: list[str]) -> str:
    """The text of ``lines`` minus fenced code blocks (where MyST-looking text is just code)."""
    kept, fence = [], ""
    for line in lines:
        if fence:
            fence = "" if line.startswith(fence) else fence
        elif line.startswith(("```", "~~~")):
            fence = line[: len(line) - len(line.lstrip(line[0]))]
        else:
            kept.append(line)
    return "\n".join(kept)


def convert_markdown(text: str, repo_files: str = "", labels: dict[str, str] | None = None) -> str:
    """One Markdown cell's MyST source as plain Markdown (see the mapping in the module docstring).

    ``repo_files`` is the URL prefix of the repository's files (for figure paths); ``labels`` maps
    ``(label)=`` targets to the text a ``{ref}`` to them should show. Raises ``UnknownMarkup``.
    """
    labels = labels or {}
    lines = _roles(_blocks(text.splitlines(), repo_files, labels), labels)
    result = "\n".join(lines).strip("\n")
    leftover = RAW_MYST.search(_without_code_fences(lines))
    if leftover:
        raise UnknownMarkup(f"MyST markup left after conversion: {leftover.group(0)!r} in {result[:200]!r}")
    return result


def _label_titles(paths: list[Path]) -> dict[str, str]:
    """``(label)=`` targets in the chapters, mapped to the heading that follows them (what {ref} shows)."""
    labels: dict[str, str] = {}
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type != "markdown":
                continue
            lines = cell.source.splitlines()
            for i, line in enumerate(lines):
                target = _TARGET.match(line)
                if target:
                    following = next((s for s in lines[i + 1 :] if s.strip()), "")
                    labels[target.group("label")] = following.lstrip("#").strip() or target.group("label")
    return labels


def _hide(cell: NotebookNode, title: str) -> None:
    """Collapse a code cell's source in Colab (a form with a title) and in JupyterLab/Notebook 7."""
    if not cell.source.lstrip().startswith("# @title"):
        cell.source = f"# @title {title}\n{cell.source}"
    cell.metadata["cellView"] = "form"
    cell.metadata.setdefault("jupyter", {})["source_hidden"] = True


def learner_notebook(
    nb: NotebookNode, repo_files: str = "", labels: dict[str, str] | None = None
) -> NotebookNode:
    """The learner version of one chapter notebook (a new notebook; ``nb`` is not changed)."""
    labels = labels or {}
    cells: list[NotebookNode] = []
    setup: NotebookNode | None = None
    for source_cell in nb.cells:
        cell = copy.deepcopy(source_cell)
        tags = list(cell.metadata.get("tags", []))
        text = cell.source
        if cell.cell_type == "markdown":
            if "remove-cell" in tags or "{solution-end}" in text:
                continue
            start = re.search(r"\{solution-start\}\s*(?P<label>\S+)", text)
            if start:
                number = _exercise_number(start.group("label"))
                cell.source = (
                    f"**Solution to Exercise {number}** (click the hidden cell below to show it; "
                    "try the exercise first)"
                )
            else:
                cell.source = convert_markdown(text, repo_files, labels)
        elif cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            if "solution" in tags:
                _hide(cell, "Solution (click to show)")
            elif "colab-setup" in tags:
                cell.metadata["cellView"] = "form"
                setup = cell
            elif {"remove-cell", "hide-cell", "remove-input", "hide-input"} & set(tags):
                _hide(cell, "Show code")
        if "remove-output" in tags or "hide-output" in tags:
            cell.metadata.setdefault("jupyter", {})["outputs_hidden"] = True
        kept = [t for t in tags if t not in _BOOK_TAGS]
        if kept:
            cell.metadata["tags"] = kept
        else:
            cell.metadata.pop("tags", None)
        cells.append(cell)
    code = [c for c in cells if c.cell_type == "code"]
    if setup is not None and code[0] is not setup:
        raise UnknownMarkup("the setup cell is not the first code cell")
    learner = copy.deepcopy(nb)
    learner.cells = cells
    learner.metadata.pop("widgets", None)
    return learner


def repo_files_url() -> str:
    """URL prefix of the repository's files at the book's branch (where figures are fetched from)."""
    url, branch, path_to_book = course.repository()
    owner_name = url.removeprefix("https://github.com/").removesuffix(".git")
    prefix = f"https://raw.githubusercontent.com/{owner_name}/{branch}"
    return f"{prefix}/{path_to_book}" if path_to_book else prefix


def build(out: Path = DEFAULT_OUT, paths: list[Path] | None = None) -> list[Path]:
    """Write the learner notebook of every chapter under ``out``, at the chapter's path; return the files."""
    paths = paths if paths is not None else course.chapter_notebooks()
    labels = _label_titles(paths)
    repo_files = repo_files_url()
    written = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        try:
            learner = learner_notebook(nb, repo_files, labels)
        except UnknownMarkup as error:
            raise UnknownMarkup(f"{path.name}: {error}") from None
        target = out / path.resolve().relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.validate(learner)
        nbformat.write(learner, target)
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="output folder (default: _build/learner)"
    )
    args = parser.parse_args(argv)
    try:
        written = build(args.out)
    except UnknownMarkup as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {len(written)} learner notebooks under {args.out}/chapters")
    return 0


if __name__ == "__main__":
    sys.exit(main())
