#!/usr/bin/env bash
# CI for the Python binding, from a clean checkout on a fresh machine:
#   1. a venv under build/python-ci (python3 -m venv; pip install maturin, pytest);
#   2. build and install the extension (maturin develop --release);
#   3. pytest, then pytest again under `python -X dev`;
#   4. examples/python/run_all.sh;
#   5. packaging: `maturin sdist` and `maturin build`, each installed into a fresh venv
#      outside the repo (under a temp dir) and smoke-tested from there;
#   6. the wheel (abi3: one build serves 3.10+) under every other CPython 3.10+ this machine
#      has (pyenv's, or python3.N on PATH): pytest there. None found is not a failure.
# Needs python3 (with venv), cargo, and PyPI access for maturin/pytest.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
venv=$root/build/python-ci/venv
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target/python-ci}

step() { echo; echo "### python ci: $*"; }

step "venv $venv"
if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c "import ensurepip" 2>/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
fi
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check "maturin>=1.9,<2.0" pytest

step "build and install the extension"
(cd bindings/python && VIRTUAL_ENV=$venv PATH=$venv/bin:$PATH maturin develop --release -q)

step "pytest"
(cd "$root/build" && "$venv/bin/python" -m pytest -q -p no:cacheprovider "$root/bindings/python/tests")

step "pytest under -X dev"
(cd "$root/build" && "$venv/bin/python" -X dev -m pytest -q -p no:cacheprovider "$root/bindings/python/tests")

step "examples"
PYTHON=$venv/bin/python examples/python/run_all.sh

step "packaging: sdist and wheel, installed outside the repo"
tmp=$(mktemp -d /tmp/goro-py-pkg.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
"$venv/bin/maturin" sdist -m bindings/python/Cargo.toml -o "$tmp/dist" -q 2>/dev/null \
    || "$venv/bin/maturin" sdist -m bindings/python/Cargo.toml -o "$tmp/dist"
"$venv/bin/maturin" build --release -m bindings/python/Cargo.toml -o "$tmp/dist" -q 2>/dev/null \
    || "$venv/bin/maturin" build --release -m bindings/python/Cargo.toml -o "$tmp/dist"
ls -l "$tmp/dist"
smoke='
import goro, asyncio
out = goro.Chan()
for i in range(3):
    goro.go(lambda i=i: out.send(i * i))
got = sorted(out.recv() for _ in range(3))
assert got == [0, 1, 4], got
assert goro.select(goro.recv(goro.after(0.01)), timeout=5)[0] == 0
async def main():
    ch = goro.Chan()
    goro.go(ch.send, "async")
    return await ch.recv_async()
assert asyncio.run(main()) == "async"
print("smoke ok", goro.__file__)
'
for kind in sdist wheel; do
    case $kind in
        sdist) art=$(ls "$tmp"/dist/*.tar.gz) ;;
        wheel) art=$(ls "$tmp"/dist/*.whl) ;;
    esac
    echo "--- $kind: $(basename "$art")"
    python3 -m venv "$tmp/venv-$kind"
    # The sdist builds with cargo in pip's own temp dir (maturin comes from PyPI).
    (cd "$tmp" && CARGO_TARGET_DIR=$tmp/target-$kind "$tmp/venv-$kind/bin/pip" install -q \
        --disable-pip-version-check "$art")
    out=$(cd "$tmp" && "$tmp/venv-$kind/bin/python" -c "$smoke")
    echo "$out"
    case $out in *"smoke ok $tmp/venv-$kind/"*) ;; *) echo "FAILED: goro not imported from the fresh venv"; exit 1 ;; esac
done

step "the wheel under the other CPython versions present"
wheel=$(ls "$tmp"/dist/*.whl)
mine=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
others=()
for py in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.*/bin/python3 /usr/bin/python3.1[0-9] /usr/local/bin/python3.1[0-9]; do
    [ -x "$py" ] || continue
    v=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) || continue
    case $v in 3.[0-9]) continue ;; esac # below the abi3 floor (3.10: vectorcall methods)
    case " $mine ${others[*]} " in *" $v "*) continue ;; esac
    others+=("$v")
    echo "--- CPython $v ($py)"
    "$py" -m venv "$tmp/venv-$v" && "$tmp/venv-$v/bin/pip" install -q --disable-pip-version-check "$wheel" pytest
    (cd "$tmp" && "$tmp/venv-$v/bin/python" -m pytest -q -p no:cacheprovider "$root/bindings/python/tests")
done
[ ${#others[@]} -gt 0 ] || echo "(none besides $mine)"

step "all passed"
