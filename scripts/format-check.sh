#!/bin/sh
# Check that every tracked C source and header matches .clang-format.
# Prints the files that clang-format would change and exits 1 if there are
# any; exits 0 when everything is formatted. Never modifies a file.
# Usage: scripts/format-check.sh [-v]   (-v also shows clang-format's report)
# CLANG_FORMAT=clang-format-14 selects the binary (default: clang-format).
set -eu
cd "$(dirname "$0")/.."

CLANG_FORMAT=${CLANG_FORMAT:-clang-format}
verbose=0
[ "${1:-}" = "-v" ] && verbose=1

if ! command -v "$CLANG_FORMAT" >/dev/null 2>&1; then
	echo "format-check: $CLANG_FORMAT not found (apt-get install clang-format)" >&2
	exit 2
fi

bad=0
nfiles=0
# The tracked sources in a git checkout, else (a source tarball, no git
# program) the C files of the source folders. Our names have no spaces.
if command -v git >/dev/null 2>&1 && [ -e .git ]; then
	files=$(git ls-files '*.c' '*.h')
else
	files=$(find crypto proto protocols node tests bench -name '*.[ch]' | sort)
fi
for f in $files; do
	[ -f "$f" ] || continue   # deleted in the working tree
	nfiles=$((nfiles + 1))
	if ! "$CLANG_FORMAT" --dry-run -Werror "$f" >/dev/null 2>&1; then
		echo "$f"
		if [ "$verbose" -eq 1 ]; then
			"$CLANG_FORMAT" --dry-run "$f" 2>&1 | sed 's/^/    /'
		fi
		bad=$((bad + 1))
	fi
done

if [ "$bad" -ne 0 ]; then
	echo "format-check: $bad of $nfiles files need clang-format" >&2
	exit 1
fi
exit 0
