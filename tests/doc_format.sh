#!/bin/sh
# Every public function has its doc block: the comment before its
# declaration says "Returns:", "Errors:" and "Consumes:" (the format of
# include/aio/future.h's ownership rule and of every header since).
#
# Usage: doc_format.sh INCLUDE_DIR        check INCLUDE_DIR/aio/*.h
#        doc_format.sh --self-test INCLUDE_DIR
#                                         check that the check fails on
#                                         copies with one word deleted
#
# The rule, as checked:
#   - Headers: every include/aio/*.h but coro_impl.h and sync_impl.h (the
#     machinery under the macros: not API).
#   - A declaration is a file-scope statement `type name(args);` (it may
#     span lines; attributes after the parameters are fine), or a function
#     defined in the header (`type name(args) { ... }`). typedefs (function
#     pointer types included) are not. Names starting with aio__ are the
#     library's (not API) and are skipped. Preprocessor lines (#define with
#     its continuations, ...) are skipped everywhere, and so is everything
#     inside braces (struct members, enum constants, function bodies).
#   - Its doc comment is the last comment that starts a line (only blanks
#     before it on the line) at file scope before the declaration, with no
#     blank line between that comment's end and the declaration's start.
#     So one comment documents the block of lines under it, up to the next
#     blank line or comment: a group of adjacent declarations (e.g.
#     aio_future_done and aio_future_cancelled), the macros among them, a
#     typedef the function takes. A comment at the end of a code line does
#     not count.
#   - That comment contains "Returns:", "Errors:" and "Consumes:", each with
#     its colon (e.g. "Errors: none", "Consumes: nothing").
# A header with no declaration at all is fine (types.h); no declaration in
# any header is an error (the parser would have broken).
set -eu

check() {
    dir=$1
    status=0
    found=0
    for h in "$dir"/aio/*.h; do
        case ${h##*/} in
        coro_impl.h | sync_impl.h) continue ;;
        esac
        out=$(awk -v file="aio/${h##*/}" '
# One pass over the characters of the whole file.
{ text = text $0 "\n" }
END {
    n = length(text)
    depth = 0; line = 1
    stmt = ""; stmt_line = 0     # the file-scope statement being read
    doc = ""; have_doc = 0       # the comment documenting the next lines
    bol = 1                      # only blanks so far on this line
    blank = 1                    # this line is blank so far (no code, no comment)
    decls = 0
    i = 1
    while (i <= n) {
        c = substr(text, i, 1)
        c2 = substr(text, i, 2)
        if (c2 == "/*") {                       # a comment
            j = index(substr(text, i + 2), "*/")
            if (j == 0) { print file ":" line ": unterminated comment"; exit 2 }
            body = substr(text, i, j + 3)
            top = bol && depth == 0 && stmt ~ /^[ \t\n]*$/
            if (top) { doc = body; have_doc = 1 }
            line += gsub(/\n/, "\n", body)
            i += j + 3
            bol = 0; blank = 0
            continue
        }
        if (c2 == "//") {                       # a line comment: to the end of the line
            j = index(substr(text, i), "\n")
            body = substr(text, i, j - 1)
            if (bol && depth == 0 && stmt ~ /^[ \t\n]*$/) { doc = body; have_doc = 1 }
            i += j - 1
            bol = 0; blank = 0
            continue
        }
        if (c == "#" && bol) {                  # a directive, with its continuations
            while (i <= n) {
                c = substr(text, i, 1)
                if (c == "\\" && substr(text, i + 1, 1) == "\n") { i += 2; line++; continue }
                if (substr(text, i, 2) == "/*") {
                    j = index(substr(text, i + 2), "*/")
                    if (j == 0) { print file ":" line ": unterminated comment"; exit 2 }
                    body = substr(text, i, j + 3)
                    line += gsub(/\n/, "\n", body)
                    i += j + 3
                    continue
                }
                if (c == "\n") break
                i++
            }
            blank = 0
            continue                            # the newline itself is read next
        }
        if (c == "\"" || c == "\047") {         # a string or character literal
            q = c; s = c; i++
            while (i <= n) {
                c = substr(text, i, 1)
                s = s c; i++
                if (c == "\\") { s = s substr(text, i, 1); i++; continue }
                if (c == q) break
            }
            if (depth == 0) stmt = stmt s
            bol = 0; blank = 0
            continue
        }
        if (c == "\n") {
            if (blank && depth == 0) { have_doc = 0; doc = "" }   # a blank line ends a group
            line++; bol = 1; blank = 1; i++
            if (depth == 0 && stmt !~ /^[ \t\n]*$/) stmt = stmt " "
            continue
        }
        if (c == " " || c == "\t" || c == "\r" || c == "\f") {
            if (depth == 0 && stmt != "") stmt = stmt " "
            i++
            continue
        }
        bol = 0; blank = 0
        if (c == "{") {
            if (depth == 0 && stmt ~ /^[ \t]*extern[ \t]+"C"[ \t]*$/) { stmt = ""; i++; continue }
            if (depth == 0) { body_of = stmt; stmt = stmt "{}" }
            depth++; i++
            continue
        }
        if (c == "}") {
            if (depth == 0) { i++; continue }   # the close of extern "C"
            depth--; i++
            if (depth == 0 && body_of ~ /\)[ \t]*$/) {   # a function defined here
                decl(body_of)
                stmt = ""
            }
            continue
        }
        if (depth > 0) { i++; continue }
        if (stmt ~ /^[ \t\n]*$/) { stmt = ""; stmt_line = line; stmt_doc = have_doc ? doc : ""; stmt_has_doc = have_doc }
        if (c == ";") { decl(stmt); stmt = ""; i++; continue }
        stmt = stmt c; i++
    }
    if (decls == 0) print "none"
}
# A statement at file scope: check it if it declares a function.
function decl(s,    name, m, miss) {
    gsub(/[ \t\n]+/, " ", s)
    sub(/^ /, "", s)
    if (s ~ /^typedef[ (]/ || s !~ /\(/) return
    # The name: the identifier right before the first "(", after a type.
    m = s
    sub(/[ ]*\(.*/, "", m)
    if (m !~ /[A-Za-z0-9_*][ *]*[A-Za-z_][A-Za-z0-9_]*$/ || m !~ / |\*/) return
    name = m
    sub(/.*[^A-Za-z0-9_]/, "", name)
    if (name ~ /^aio__/) return
    decls++
    miss = ""
    if (!stmt_has_doc) miss = "no doc comment right above it (no blank line between)"
    else {
        if (index(stmt_doc, "Returns:") == 0) miss = miss " Returns:"
        if (index(stmt_doc, "Errors:") == 0) miss = miss " Errors:"
        if (index(stmt_doc, "Consumes:") == 0) miss = miss " Consumes:"
        if (miss != "") miss = "its doc comment lacks" miss
    }
    if (miss != "") print file ":" stmt_line ": " name ": " miss
    else print "ok " name
}
' "$h") || { echo "$h: could not be parsed"; status=1; continue; }
        bad=$(printf '%s\n' "$out" | grep -v '^ok \|^none$' || true)
        found=$((found + $(printf '%s\n' "$out" | grep -c '^ok ' || true)))
        if [ -n "$bad" ]; then
            printf '%s\n' "$bad"
            status=1
        fi
    done
    if [ "$found" -eq 0 ] && [ "$status" -eq 0 ]; then
        echo "no public function found in $dir/aio: the parser is broken"
        status=1
    fi
    [ "$status" -ne 0 ] || echo "doc_format: $found public functions, each with Returns:, Errors:, Consumes:"
    return "$status"
}

if [ "${1:-}" != "--self-test" ]; then
    check "$1"
    exit $?
fi

# Self-test: the check passes on the headers, and fails on a copy where one
# comment lost one of the words, or where a declaration spanning lines has
# no comment (each mutation applied alone). future.h's aio_future_release
# and aio_future_retain are the victims: plain, one-line declarations.
src=$2
check "$src" >/dev/null || { echo "self-test: the headers themselves fail"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
for word in Returns: Errors: Consumes: multiline; do
    rm -rf "$tmp/aio"
    cp -R "$src/aio" "$tmp/aio"
    f=$tmp/aio/future.h
    if [ "$word" = multiline ]; then
        # A new undocumented declaration over three lines, after a blank line.
        printf '\nint aio_future_undocumented(aio_loop *loop,\n    aio_future f,\n    int flags);\n' >"$tmp/decl"
        awk -v add="$tmp/decl" '/^#ifndef AIO_BUILDING/ && !done {
                while ((getline l < add) > 0) print l
                print ""; done = 1
            } { print }' "$f" >"$f.new"
        expect=aio_future_undocumented
    else
        # Delete the word from the comment just above aio_future_release.
        awk -v w="$word" '{ lines[NR] = $0 }
            /^int aio_future_release\(/ { target = NR }
            END {
                for (k = target; k > 0; k--) if (index(lines[k], w)) { sub(w, "", lines[k]); break }
                for (k = 1; k <= NR; k++) print lines[k]
            }' "$f" >"$f.new"
        expect=aio_future_release
    fi
    mv "$f.new" "$f"
    if cmp -s "$f" "$src/aio/future.h"; then
        echo "self-test ($word): the mutation changed nothing"
        fail=1
        continue
    fi
    if out=$(check "$tmp"); then
        echo "self-test ($word): the check passed on a broken header"
        fail=1
    elif ! printf '%s\n' "$out" | grep -q "$expect"; then
        echo "self-test ($word): the check failed without naming $expect:"
        printf '%s\n' "$out"
        fail=1
    else
        echo "self-test ($word): caught: $(printf '%s\n' "$out" | grep "$expect")"
    fi
done
exit $fail
