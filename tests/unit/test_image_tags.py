"""An image's tag is a hash of its build context: what the image is built from changes it, what the
build ignores (virtualenvs, tests, caches) does not, so an unchanged image is never rebuilt."""

from __future__ import annotations

from pathlib import Path

from ms5harness.images.catalog import context_files, context_hash


def make_context(root: Path) -> Path:
    for name, text in {"Dockerfile": "FROM scratch\n", "app/main.py": "print(1)\n",
                       ".venv/lib/site.py": "venv\n", "app/__pycache__/main.cpython-311.pyc": "x",
                       "app/stale.pyc": "x", "tests/test_app.py": "assert True\n",
                       "app/tests/test_deep.py": "assert True\n"}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_ignored_directories_and_compiled_files_are_not_in_the_context(tmp_path):
    context = make_context(tmp_path)
    assert [p.relative_to(context).as_posix() for p in context_files(context)] == ["Dockerfile", "app/main.py"]


def test_the_tag_follows_the_built_files_only(tmp_path):
    context = make_context(tmp_path)
    tag = context_hash(context)
    (context / ".venv" / "lib" / "site.py").write_text("another venv\n")
    (context / "tests" / "test_app.py").write_text("assert False\n")
    assert context_hash(context) == tag
    (context / "app" / "main.py").write_text("print(2)\n")
    assert context_hash(context) != tag
