"""tools/course.py owns the course's conventions; the tools that write notebooks follow them."""

import ast
import json

import nbformat
import pytest

from tools import course, reuse_outputs
from tools.course import (
    CourseMetadata,
    chapter_notebooks,
    exercises,
    read_course_metadata,
    setup_cell_metadata,
    write_course_metadata,
)
from tools.instructor import assignment, student_edition


def test_course_metadata_round_trip():
    nb = nbformat.v4.new_notebook()
    write_course_metadata(nb, CourseMetadata("student", "Week 1", ["ex-1.2", "ex-3.4"]))
    assert read_course_metadata(nb) == CourseMetadata("student", "Week 1", ["ex-1.2", "ex-3.4"])
    with_points = CourseMetadata("key", "Week 1", ["ex-1.2"], {"ex-1.2": 3.0})
    write_course_metadata(nb, with_points)
    assert read_course_metadata(nb) == with_points


@pytest.mark.parametrize("meta", [None, "x", {"exercises": []}, {"exercises": "ex-1.2"}, {"title": "t"}])
def test_reading_metadata_of_a_foreign_notebook_is_an_error(meta):
    nb = nbformat.v4.new_notebook()
    if meta is not None:
        nb.metadata["course"] = meta
    with pytest.raises(ValueError, match="not a notebook of this course"):
        read_course_metadata(nb)


@pytest.mark.parametrize(
    "meta", [CourseMetadata("teacher", "t", ["ex-1.2"]), CourseMetadata("key", "t", ["1.2"])]
)
def test_writing_bad_metadata_is_an_error(meta):
    with pytest.raises(ValueError):
        write_course_metadata(nbformat.v4.new_notebook(), meta)


def test_an_exercise_label_that_is_not_an_exercise_id_is_an_error(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(":::{exercise} ★ Title\n:label: ex-1\n\nDo it.\n:::")]
    path = tmp_path / "01_x.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(ValueError, match="01_x.ipynb: exercise label 'ex-1'"):
        exercises(path)


def test_every_chapter_setup_cell_and_the_assignment_setup_cell_share_the_metadata():
    for path in chapter_notebooks():
        nb = nbformat.read(path, as_version=4)
        first = next(c for c in nb.cells if c.cell_type == "code")
        assert dict(first.metadata) == setup_cell_metadata(), path.name
    student, key = assignment.build(["ex-1.2"], "Week 1")
    for nb in (student, key):
        setup = [c for c in nb.cells if course.SETUP_TAG in c.metadata.get("tags", [])]
        assert len(setup) == 1 and dict(setup[0].metadata) == setup_cell_metadata()
    assert read_course_metadata(key) == CourseMetadata("key", "Week 1", ["ex-1.2"], {"ex-1.2": 1.0})
    assert [course.is_solution(c) for c in key.cells].count(True) == 1


def _names(source: str) -> tuple[set[str], set[str]]:
    """(names a cell binds at module level, names it reads anywhere) of a code cell."""
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    bound: set[str] = set()
    read: set[str] = set()

    def visit(node: ast.AST, top: bool) -> None:
        if isinstance(node, ast.Name):
            (bound if isinstance(node.ctx, ast.Store) and top else read).add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)) and top:
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and top:
            bound.add(node.name)
        inner = top and not isinstance(
            node,
            (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.ListComp, ast.SetComp)
            + (ast.DictComp, ast.GeneratorExp),
        )
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(ast.parse(code), True)
    return bound, read


@pytest.mark.parametrize("path", chapter_notebooks(), ids=lambda p: p.stem)
def test_no_cell_outside_the_solutions_reads_a_name_a_solution_binds(path):
    """So the student edition (the chapter minus its solutions) runs like the chapter, and the student website
    can show the outputs of the book build (tools/reuse_outputs.py) instead of executing every chapter again."""
    from_solutions: dict[str, str] = {}
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        bound, read = _names(cell.source)
        if course.is_solution(cell):
            from_solutions.update(dict.fromkeys(bound, cell.source.splitlines()[0]))
            continue
        leaks = sorted(read & from_solutions.keys())
        assert not leaks, (
            f"{path.name}: the cell starting {cell.source.splitlines()[0]!r} reads {leaks}, which a solution "
            f"binds ({from_solutions[leaks[0]]!r}): a student notebook (solutions removed) would differ"
        )


def test_the_student_edition_gets_the_outputs_of_the_executed_chapter(tmp_path):
    chapter = chapter_notebooks()[0]
    executed = nbformat.read(chapter, as_version=4)
    for i, cell in enumerate(c for c in executed.cells if c.cell_type == "code"):
        cell.outputs = [nbformat.v4.new_output("stream", text=f"output {i}\n")]
        cell.execution_count = i + 1
    executed.metadata["widgets"] = {"state": {}}
    (tmp_path / "build" / "chapters").mkdir(parents=True)
    nbformat.write(executed, tmp_path / "build" / "chapters" / chapter.name)
    # the student edition points the setup cell elsewhere: its (empty, Colab-only) outputs are still reused
    setup = "# @title Setup\nprint('the students repository')"
    student_edition.write_student_notebook(chapter, tmp_path / "student" / "chapters", setup=setup)

    assert reuse_outputs.main([str(tmp_path / "student"), "--executed", str(tmp_path / "build")]) == 0
    student = nbformat.read(tmp_path / "student" / "chapters" / chapter.name, as_version=4)
    twins = {c.id: c for c in executed.cells}
    code = [c for c in student.cells if c.cell_type == "code"]
    assert code and all(c.outputs == twins[c.id].outputs for c in code)
    assert student.metadata["mystnb"]["execution_mode"] == "off" and student.metadata["widgets"] == {
        "state": {}
    }
    assert not any(course.is_solution(c) for c in student.cells)

    before = (tmp_path / "student" / "chapters" / chapter.name).read_text()
    last = twins[code[-1].id]
    for stale_or_failed in ("edited", "not run", "raised"):
        broken = nbformat.from_dict(json.loads(json.dumps(executed)))
        cell = next(c for c in broken.cells if c.get("id") == last.id)
        if stale_or_failed == "edited":
            cell.source += "\n# edited after the build"
        elif stale_or_failed == "not run":
            cell.execution_count = None
        else:
            cell.outputs = [nbformat.v4.new_output("error", ename="ValueError", evalue="x", traceback=[])]
        nbformat.write(broken, tmp_path / "build" / "chapters" / chapter.name)
        assert reuse_outputs.main([str(tmp_path / "student"), "--executed", str(tmp_path / "build")]) == 1
        assert (tmp_path / "student" / "chapters" / chapter.name).read_text() == before
