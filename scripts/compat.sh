#!/usr/bin/env bash
# The test suite under the other supported Python and Django LTS pairs (`make compat`,
# part of `make test`):
#   - the oldest supported Python with Django 4.2 when this machine has it, else
#     Django 4.2 under the Python of .venv (so the oldest LTS always runs once);
#   - the newest supported Python with Django 5.2 when this machine has it
#     (python3.X on PATH, under pyenv, or in /usr/bin).
# Each pair has its own virtualenv in .venv-compat/. The browser tests, the README's
# `make run` test and the packaging build run in the main suite only: they test the
# machine's tools and the build, the same under every pair.
# A Python this machine lacks is reported, not a failure (`make test` cannot install
# one); a pair that cannot be installed fails under CI=true; a failing test always fails.
set -uo pipefail
cd "$(dirname "$0")/.."

# Keep in step with setup.cfg's classifiers and tox.ini (tests/test_packaging.py checks).
OLDEST_PYTHON=3.10
NEWEST_PYTHON=3.13
OLDEST_DJANGO=4.2
NEWEST_DJANGO=5.2

MAIN_PYTHON=${MAIN_PYTHON:-.venv/bin/python}
# The extras the Makefile installs in .venv.
EXTRAS=${EXTRAS:-test}
PYTEST_ARGS=(
    -q
    --ignore=tests/example/e2e
    --ignore=tests/example/test_readme_commands.py
    --ignore=tests/test_packaging.py
)

summary=()
failed=0

# A working interpreter for Python $1 (X.Y) with venv support, or nothing.
find_python() {
    local version=$1 candidate path
    for candidate in "python$version" \
        "${PYENV_ROOT:-$HOME/.pyenv}/versions/$version".*/bin/"python$version" \
        "/usr/local/bin/python$version" "/usr/bin/python$version"; do
        path=$(command -v "$candidate" 2>/dev/null) || continue
        if "$path" -c "import ensurepip, sys, venv; assert '%d.%d' % sys.version_info[:2] == '$version'" \
            >/dev/null 2>&1; then
            echo "$path"
            return
        fi
    done
}

# The pip requirement for Django LTS $1 (X.Y): that release line only.
django_requirement() {
    echo "Django>=$1,<$((${1%%.*} + 1)).0"
}

# Install the package with $EXTRAS and Django $3 under Python $2, in .venv-compat/$1.
prepare() {
    local label=$1 python=$2 django venv=.venv-compat/$1
    django=$(django_requirement "$3")
    local stamp=$venv/.installed-stamp
    if [ -f "$stamp" ] && [ "$stamp" -nt setup.cfg ] && [ "$stamp" -nt pyproject.toml ] \
        && [ "$(cat "$stamp")" = "$python $django [$EXTRAS]" ]; then
        return 0
    fi
    echo "compat: installing $label ($python, $django) in $venv..."
    rm -rf "$venv"
    "$python" -m venv "$venv" \
        && "$venv/bin/python" -m pip install --quiet --upgrade pip \
        && "$venv/bin/python" -m pip install --quiet -e ".[$EXTRAS]" "$django" \
        && echo "$python $django [$EXTRAS]" >"$stamp"
}

# Run the suite under Python $1 (an interpreter) with Django LTS $2.
run_pair() {
    local python=$1 django=$2 label venv versions log result
    label="python$("$python" -c "import sys; print('%d.%d' % sys.version_info[:2])")-django$django"
    venv=.venv-compat/$label
    if ! prepare "$label" "$python" "$django"; then
        if [ "${CI:-}" = "true" ]; then
            summary+=("FAILED   $label: Django $django could not be installed under $python")
            failed=1
        else
            summary+=("not run  $label: Django $django could not be installed under $python")
        fi
        return
    fi
    versions=$("$venv/bin/python" -c \
        "import django, platform; print(f'Python {platform.python_version()}, Django {django.get_version()}')")
    echo "compat: $versions"
    log=$(mktemp)
    "$venv/bin/pytest" "${PYTEST_ARGS[@]}" 2>&1 | tee "$log"
    result=${PIPESTATUS[0]}
    if [ "$result" -eq 0 ]; then
        summary+=("ran      $versions: $(tail -n 1 "$log" | tr -d '=' | sed 's/^ *//; s/ *$//')")
    else
        summary+=("FAILED   $versions: pytest exited with $result")
        failed=1
    fi
    rm -f "$log"
}

main_version=$("$MAIN_PYTHON" -c "import sys; print('%d.%d' % sys.version_info[:2])")
main_base=$("$MAIN_PYTHON" -c "import sys; print(sys._base_executable)")

# The oldest Django LTS runs under the oldest Python when this machine has it, else
# under the Python of .venv: either way every supported Django LTS is tested once.
oldest_python=$(find_python "$OLDEST_PYTHON")
if [ -n "$oldest_python" ]; then
    run_pair "$oldest_python" "$OLDEST_DJANGO"
else
    summary+=("not run  Python $OLDEST_PYTHON: not on this machine; Django $OLDEST_DJANGO runs under Python $main_version instead")
    run_pair "$main_base" "$OLDEST_DJANGO"
fi

if [ "$NEWEST_PYTHON" != "$main_version" ]; then
    newest_python=$(find_python "$NEWEST_PYTHON")
    if [ -n "$newest_python" ]; then
        run_pair "$newest_python" "$NEWEST_DJANGO"
    else
        summary+=("not run  Python $NEWEST_PYTHON, Django $NEWEST_DJANGO: no Python $NEWEST_PYTHON on this machine")
    fi
fi

echo
echo "Compatibility runs (the main suite ran under $("$MAIN_PYTHON" -c \
    "import django, platform; print(f'Python {platform.python_version()}, Django {django.get_version()}')")):"
printf '  %s\n' "${summary[@]}"
exit "$failed"
