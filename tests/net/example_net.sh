#!/bin/sh
# Runs a network example against its client and checks the output:
#     example_net.sh MODE EXAMPLES_DIR [PROBE]
# MODE: echo | echo_threads | echo_unix | http | http_threads
# Each server is started on 127.0.0.1 port 0 (or a Unix path in a fresh
# directory), its "listening" line read, the checks run, and the server
# stopped with SIGTERM: it must exit 0. The HTTP modes use curl (exit 77,
# skipped, when it is missing) and PROBE (pipelined and split requests).
set -eu
mode=$1 dir=$2 probe=${3:-}
tmp=$(mktemp -d)
server_pid=
cleanup() {
    [ -n "$server_pid" ] && kill -KILL "$server_pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

start() { # start SERVER ARGS...: run it, wait for its first line
    "$@" >"$tmp/out" 2>"$tmp/err" &
    server_pid=$!
    i=0
    while ! grep -q '^listening ' "$tmp/out" 2>/dev/null; do
        i=$((i + 1))
        if [ $i -gt 100 ] || ! kill -0 "$server_pid" 2>/dev/null; then
            echo "server did not start"; cat "$tmp/err"; exit 1
        fi
        sleep 0.05
    done
    line=$(head -n 1 "$tmp/out")
    echo "$line"
    port=$(echo "$line" | awk '{print $3}')
}

stop() { # SIGTERM: a clean exit 0
    kill -TERM "$server_pid"
    rc=0
    wait "$server_pid" || rc=$?
    server_pid=
    echo "server exit $rc"
    [ "$rc" -eq 0 ]
}

case $mode in
echo | echo_threads)
    if [ "$mode" = echo ]; then start "$dir/echo_server" 127.0.0.1 0; else start "$dir/echo_server" 127.0.0.1 0 4; fi
    for n in 1 2 3; do "$dir/echo_client" 127.0.0.1 "$port" 200; done
    stop
    ;;
echo_unix)
    start "$dir/echo_server" "unix:$tmp/echo.sock"
    [ -S "$tmp/echo.sock" ] || { echo "no socket file"; exit 1; }
    stop
    [ ! -e "$tmp/echo.sock" ] || { echo "socket file left behind"; exit 1; }
    echo "socket file removed"
    ;;
http | http_threads)
    command -v curl >/dev/null 2>&1 || { echo "curl is missing: skipped"; exit 77; }
    if [ "$mode" = http ]; then start "$dir/http_hello" 127.0.0.1 0; else start "$dir/http_hello" 127.0.0.1 0 2; fi
    # Keep-alive: two requests, one connection.
    curl -sv "http://127.0.0.1:$port/" "http://127.0.0.1:$port/again" >"$tmp/body" 2>"$tmp/trace"
    cat "$tmp/body"; echo
    grep -q "Re-using existing connection" "$tmp/trace" && echo "keep-alive: one connection"
    [ "$(grep -c 'HTTP/1.1 200 OK' "$tmp/trace")" -eq 2 ] && echo "two 200 OK"
    "$probe" 127.0.0.1 "$port"
    stop
    ;;
*)
    echo "unknown mode $mode"; exit 2
    ;;
esac
