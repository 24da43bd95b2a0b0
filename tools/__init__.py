"""Maintainer and instructor tools, each run from the repository root as ``python -m tools.<name>``.

``tools.course`` owns the course's conventions (repository root, chapter list, cell tags, exercise format,
notebook metadata); every tool and test imports them from there instead of re-typing them.
"""
