#!/usr/bin/env bash
# The install test (ctest test_install): installs the build into a temporary
# prefix and checks what a user gets there.
#   - the files: the program, the static and the shared library, the public
#     headers as the only headers (factormer.h and its parts,
#     include/factormer/*.h; they include no project header but each other,
#     and each part compiles on its own), the shipped models, the CMake
#     package and factormer.pc;
#   - the shared library exports exactly the functions the public headers
#     declare;
#   - a consumer (consumer.c) built with find_package, against the shared and
#     the static library, and built with pkg-config, shared and static
#     (pkg-config --static), runs and checks its factorization; the shared
#     ones also check that the library found the installed models;
#   - the installed program reports the header's version, and with no
#     FACTORMER_MODELS runs --init learned from the installed models, also
#     after the prefix is moved elsewhere.
# usage: test_install.sh BUILD_DIR SOURCE_DIR LIBDIR C_COMPILER [C_FLAGS]
# (C_FLAGS: the flags a consumer needs to link this build, the sanitizers')
set -euo pipefail
build=$1 source=$2 libdir=$3 cc=$4 flags=${5:-}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/factormer-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
tmp=$(realpath "$tmp")
prefix=$tmp/prefix
fail() { echo "test_install: $*" >&2; exit 1; }
step() { echo "== $*"; }

step "cmake --install into $prefix"
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" || { cat "$tmp/install.log"; fail "cmake --install failed"; }
for f in bin/factormer "$libdir/libfactormer.a" "$libdir/libfactormer.so" include/factormer.h \
         share/factormer/models/init-rank10.fmw share/factormer/models/accel-rank10.fmw \
         share/factormer/models/init.fmw share/factormer/models/accel.fmw \
         "$libdir/cmake/factormer/factormer-config.cmake" "$libdir/pkgconfig/factormer.pc"; do
    [[ -e $prefix/$f ]] || fail "$f was not installed"
done
headers=$(cd "$prefix" && find . -name '*.h' -o -name '*.inc' | sort)
public=$(cd "$source" && { echo include/factormer.h; ls include/factormer/*.h; } | sed 's|^|./|' | sort)
[[ $headers == "$public" ]] || fail "the headers installed are not the public ones:
$(diff <(echo "$public") <(echo "$headers") || true)"
for h in $public; do
    # a quoted include must name another public header, beside the one that includes it
    while read -r name; do
        [[ -n $name ]] || continue
        target=$(realpath -m "$prefix/$(dirname "$h")/$name")
        grep -qxF "./${target#"$prefix"/}" <<<"$public" || fail "$h includes a project header: \"$name\""
    done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$prefix/$h")
done
for h in $public; do
    [[ $h == ./include/factormer.h ]] && continue
    part=${h#./include/}
    # shellcheck disable=SC2086
    echo "#include <$part>" | "$cc" $flags -std=c11 -Wall -Wextra -Werror -fsyntax-only -I"$prefix/include" -x c - ||
        fail "$part does not compile on its own"
done

if command -v nm >/dev/null; then
    step "the shared library's exports"
    exported=$(nm -D --defined-only "$prefix/$libdir/libfactormer.so" | awk '$2 ~ /^[A-Z]$/ {print $3}' | sort -u)
    # shellcheck disable=SC2086
    declared=$(cd "$prefix" && sed 's|//.*||' $public | grep -o 'fm_[a-z0-9_]*(' | tr -d '(' | sort -u)
    [[ $exported == "$declared" ]] ||
        fail "the shared library's exports are not the functions the public headers declare:
$(diff <(echo "$declared") <(echo "$exported") || true)"
    echo "$(wc -l <<<"$exported") functions, those of the public headers"
fi

models=$prefix/share/factormer/models
unset FACTORMER_MODELS
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}

step "find_package consumer"
cmake -S "$source/tests/install" -B "$tmp/find_package" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="$flags" -DCMAKE_BUILD_TYPE=Release >"$tmp/configure.log" ||
    { cat "$tmp/configure.log"; fail "the find_package consumer does not configure"; }
cmake --build "$tmp/find_package" >"$tmp/build.log" || { cat "$tmp/build.log"; fail "the find_package consumer does not build"; }
"$tmp/find_package/consumer" "$models" || fail "the find_package consumer (shared library) failed"
"$tmp/find_package/consumer_static" || fail "the find_package consumer (static library) failed"

step "pkg-config consumer"
export PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig
[[ $(pkg-config --modversion factormer) == "$(sed -n 's/^#define FACTORMER_VERSION_[A-Z]* //p' "$prefix/include/factormer/core.h" | paste -sd.)" ]] ||
    fail "factormer.pc's version is not the header's"
pc_libdir=$(pkg-config --variable=libdir factormer)
# shellcheck disable=SC2046,SC2086
"$cc" $flags "$source/tests/install/consumer.c" $(pkg-config --cflags --libs factormer) -Wl,-rpath,"$pc_libdir" -lm \
    -o "$tmp/consumer_pc" || fail "the pkg-config consumer does not build"
"$tmp/consumer_pc" "$models" || fail "the pkg-config consumer (shared library) failed"
static_libs=$(pkg-config --static --libs factormer)
# shellcheck disable=SC2046,SC2086
"$cc" $flags "$source/tests/install/consumer.c" $(pkg-config --cflags factormer) ${static_libs/-lfactormer/-l:libfactormer.a} \
    -lm -o "$tmp/consumer_pc_static" || fail "the pkg-config --static consumer does not build"
"$tmp/consumer_pc_static" || fail "the pkg-config --static consumer failed"

step "the installed program"
want="factormer $(pkg-config --modversion factormer)"
[[ $("$prefix/bin/factormer" --version) == "$want" ]] || fail "factormer --version does not print '$want'"
cd "$tmp"
"$prefix/bin/factormer" generate x.mtx --rows 40 --cols 30 --rank 3 >/dev/null
for where in "$prefix" "$tmp/moved"; do
    [[ $where == "$prefix" ]] || mv "$prefix" "$where"
    out=$("$where/bin/factormer" factorize x.mtx --rank 10 --init learned --iters 2 --out run 2>&1) ||
        fail "the installed program's factorize --init learned failed"
    echo "$out" | grep -F "from learned ($where/share/factormer/models/init.fmw)" ||
        fail "the program installed in $where did not use its installed model:
$out"
done
echo "test_install: passed"
