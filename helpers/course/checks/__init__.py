"""One module per chapter (ch01.py, ch02.py, ...) holding that chapter's exercise checks."""
