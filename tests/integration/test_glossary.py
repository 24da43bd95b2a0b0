"""Every {term} reference in the book names an entry of glossary.md's glossary directive.

Sphinx only warns about an undefined term when the whole book is built; this test finds it in a second.
"""

from __future__ import annotations

import re

import nbformat

from tools.course import ROOT, chapter_notebooks

GLOSSARY = ROOT / "glossary.md"
_FENCE = re.compile(r"^(`{3,}|:{3,})\{glossary\}[^\n]*\n(.*?)^\1\s*$", re.MULTILINE | re.DOTALL)
_TERM_ROLE = re.compile(r"\{term\}`([^`]+)`")


def glossary_terms(markdown: str) -> set[str]:
    """The terms defined by the ```{glossary} directive in `markdown`, lowercased (Sphinx matches them so).

    A term is a non-indented, non-empty line of the directive's body that is not an option (`:sorted:`);
    several term lines before one indented definition are aliases of that entry.
    """
    match = _FENCE.search(markdown)
    if match is None:
        raise ValueError("no {glossary} directive found")
    terms = set()
    for line in match.group(2).splitlines():
        if line.strip() and not line[0].isspace() and not line.startswith(":"):
            terms.add(line.strip().lower())
    return terms


def term_references(markdown: str) -> list[str]:
    """The targets of the {term} roles in `markdown`: the text, or the part in <...> of `text <target>`."""
    targets = []
    for content in _TERM_ROLE.findall(markdown):
        explicit = re.fullmatch(r"(?s).*<([^<>]+)>\s*", content)
        targets.append((explicit.group(1) if explicit else content).strip())
    return targets


def book_markdown() -> dict[str, str]:
    """Every Markdown text of the book: the .md pages at the top level and the chapters' Markdown cells."""
    texts = {path.name: path.read_text(encoding="utf-8") for path in sorted(ROOT.glob("*.md"))}
    for path in chapter_notebooks():
        notebook = nbformat.read(path, as_version=4)
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type == "markdown":
                texts[f"{path.name} cell {index}"] = cell.source
    return texts


def test_parser_reads_terms_aliases_and_skips_options():
    sample = "x\n\n```{glossary}\n:sorted:\n\nlogit\nlogits\n  Raw scores.\n\nReLU\n  max(0, x).\n```\n"
    assert glossary_terms(sample) == {"logit", "logits", "relu"}
    assert term_references("a {term}`ReLU` and {term}`raw scores <logits>`") == ["ReLU", "logits"]


def test_an_undefined_reference_is_caught():
    terms = glossary_terms("```{glossary}\nReLU\n  max(0, x).\n```\n")
    references = term_references("{term}`relu` is fine, {term}`pooling` is not")
    assert [target for target in references if target.lower() not in terms] == ["pooling"]


def test_glossary_has_entries():
    assert len(glossary_terms(GLOSSARY.read_text(encoding="utf-8"))) > 40


def test_every_term_reference_is_defined():
    terms = glossary_terms(GLOSSARY.read_text(encoding="utf-8"))
    undefined = [
        f"{source}: {target}"
        for source, text in book_markdown().items()
        for target in term_references(text)
        if target.lower() not in terms
    ]
    assert not undefined, "{term} references to entries missing from glossary.md:\n" + "\n".join(undefined)


def test_chapters_link_the_glossary():
    referenced = sum(len(term_references(text)) for name, text in book_markdown().items() if ".ipynb" in name)
    assert referenced > 0, "no chapter links a glossary term with {term}"
