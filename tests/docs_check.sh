#!/bin/sh
# Every documented difference from asyncio is stated in README.md's list
# and beside the function it concerns (and in the guide or design notes
# where they discuss it), and the docs no longer say what the code stopped
# doing. Usage: docs_check.sh SOURCE_DIR
set -eu
root=$1
fail=0

# A file's text as one line, comment leaders (" * ", "/* ") and runs of
# blanks folded, so that a phrase matches across line breaks.
flat() {
    sed -e 's/^[[:space:]]*\/\*[[:space:]]*//' -e 's/^[[:space:]]*\*\/*[[:space:]]*//' "$root/$1" | tr '\n' ' ' |
        tr -s ' \t' '  '
}

# says FILE PHRASE: FILE states PHRASE.
says() {
    if ! flat "$1" | grep -qF -- "$2"; then
        echo "missing in $1: $2"
        fail=1
    fi
}

# never FILE PHRASE: FILE no longer states PHRASE.
never() {
    if flat "$1" | grep -qF -- "$2"; then
        echo "stale in $1: $2"
        fail=1
    fi
}

# The list follows the asyncio -> libaio table.
awk '/^## asyncio names/ { t = NR } /^## Where libaio differs from asyncio, and why/ { d = NR }
     END { exit !(t && d && d > t) }' "$root/README.md" ||
    { echo "README.md: no 'Where libaio differs from asyncio, and why' list after the names table"; fail=1; }

# A cancel the coroutine handles.
says README.md "unless, at the await that saw \`AIO_ECANCELLED\`, it says \`if (AIO_CANCEL_HANDLED(t))\`"
says include/aio/coro.h "#define AIO_CANCEL_HANDLED(t)"
says docs/guide.md "if (AIO_CANCEL_HANDLED(t)) {"
says docs/design.md "AIO_CANCEL_HANDLED(t)"

# Task groups and timeout scopes (aio/group.h).
says README.md "A coroutine that ends inside a task group cancels the group's children"
says include/aio/group.h "a coroutine that ends inside a task group cancels the group's children"
says docs/guide.md "A group's children are then cancelled and awaited"
says README.md "A group closed by its coroutine's end reports one code"
says include/aio/group.h "A group closed by its coroutine's end reports one code"
says README.md "BEGIN on a scope that has ended makes a new scope in that storage"
says include/aio/group.h "BEGIN on a scope that has ended makes a new scope in that storage"
says README.md "Task groups and timeout scopes record no exception chains"
says include/aio/group.h "Groups and timeouts record no exception chains"

# A gather whose child was cancelled.
says README.md "A gather whose child was cancelled ends cancelled"
says include/aio/combinators.h "A cancelled child ends the gather cancelled (asyncio instead fails it with a CancelledError"
says docs/guide.md "A cancelled child ends the gather cancelled"

# Cancelling a future that already failed.
says README.md "Cancelling a future that already failed does not count as retrieving its error"
says include/aio/future.h "A cancel that returns 0 on a future that failed does NOT count as retrieving its error"

# A pending gather always accepts a cancel (design.md's table used to say
# the opposite).
says README.md "A pending gather always accepts a cancel"
says include/aio/combinators.h "A pending gather always accepts the cancel"
says docs/design.md "A pending gather always accepts"
never docs/design.md "Refused, as in asyncio"

# aio_wait's result: no count.
says README.md "\`aio_wait\` returns no sets and no count"
says include/aio/combinators.h "Its result carries nothing (AIO_NONE): count with aio_wait_partition when you resume"
never include/aio/combinators.h "with result .u = the number of children done"

# The awaitable executor shutdown.
says README.md "\`aio_shutdown_default_executor\` cancels the jobs not yet started"
says include/aio/executor.h "Which shutdown where:"
says include/aio/executor.h "(their futures end cancelled; asyncio lets them run)"

# A cancel pending at an await, and aio_run's shutdown report.
says include/aio/task.h "what that await waits for is cancelled and waited for"
says docs/design.md "the awaited future is cancelled and then waited for"
says docs/guide.md "unhandled exception during aio_run() shutdown"

# Signals: every loop that registered one gets it; aio_run's -EINTR.
says README.md "Every loop that registered a signal gets each delivery"
says include/aio/signal.h "Every loop that registered a signal gets each delivery"
says docs/guide.md "Every loop that registered a signal gets each delivery"
says README.md "returns \`-EINTR\` where \`asyncio.run\` raises \`KeyboardInterrupt\`"
says include/aio/signal.h "-EINTR (asyncio raises KeyboardInterrupt)"

# The synchronisation primitives (aio/sync.h).
says README.md "must outlive their waiters"
says include/aio/sync.h "Lifetime: a primitive must outlive every task waiting on it"
says README.md "A queue's \`_nowait\` calls do not overtake waiters"
says include/aio/queue.h "While getters wait, or were woken and have not taken their item yet, it fails (no overtaking)"
says README.md "equal keys leave in arrival order"
says include/aio/queue.h "equal keys in FIFO order"
says README.md "A condition waiter cancelled before it was notified passes nothing on"
says include/aio/sync.h "A notified waiter cancelled before it resumed passes its notification on"

# Streams.
says README.md "a closed stream's calls fail with \`AIO_ECLOSED\`"
says include/aio/stream.h "every later call but aio_stream_wait_closed gives AIO_ECLOSED"
says README.md "An incomplete read and a limit overrun keep the bytes in the stream's buffer"
says include/aio/stream.h "the bytes that did arrive stay buffered, none are lost"
says include/aio/stream.h "every byte stays buffered"
says docs/guide.md "the bytes that did arrive stay in the buffer"
says README.md "the first address's error is returned"
says include/aio/stream.h "the first address's error"
says README.md "A server's \`wait_closed\` also waits for each connection's task to end"
says include/aio/server.h "every connection it accepted is closed and its task has ended"
says README.md "make their system call when the awaiting coroutine resumes"
says include/aio/socket.h "The system call of recv and accept is made when the awaiting coroutine resumes"
says README.md "A blocking socket never blocks the loop"
says include/aio/socket.h "accept and connect make the socket non-blocking (O_NONBLOCK)"
says README.md "A live server at a Unix socket's path makes \`start_unix_server\` fail"
says include/aio/server.h "a live one (a connect to it succeeds) gives -EADDRINUSE"
says docs/design.md "edge-triggered"

# Subprocesses.
says README.md "Creating a process is a plain call, not a future"
says include/aio/process.h "so creating a process is a plain call, not a future"
says README.md "Closing a process does not kill its child"
says include/aio/process.h "A child still running is NOT killed (asyncio's transport would)"
says docs/guide.md "Closing a process does not kill its child"
says README.md "Cancelling a communicate leaves the child running"
says include/aio/process.h "cancelling aio_process_wait or aio_process_communicate stops the waiting and leaves the child alone"
says README.md "An output larger than its buffer or limit fails the communicate with"
says include/aio/process.h "-ENOBUFS (an output did not fit"
says README.md "A child reaped elsewhere ends its wait with \`-ECHILD\`"
says include/aio/process.h "-ECHILD (someone else reaped it"
says README.md "The program is looked up in the PATH of this process"
says include/aio/process.h "The program is looked up in the PATH of this process"
says README.md "Without pidfds, reaping takes SIGCHLD"
says include/aio/process.h "the loop handles SIGCHLD through aio/signal.h"
says docs/design.md "never waitpid(-1)"

# Debug mode: creation sites are opt-in; set_debug waits for the next run;
# a dump runs the code before AIO_BEGIN.
says README.md "Debug mode names where a future was created only in code compiled with \`-DAIO_DEBUG_SITES\`"
says include/aio/debug.h "AIO_DEBUG_SITES: define it"
says docs/guide.md "for code compiled with \`-DAIO_DEBUG_SITES\`"
says README.md "\`aio_loop_set_debug\` during a run takes effect when the next run starts"
says include/aio/debug.h "A run already under way keeps its mode until it returns"
says docs/guide.md "a run already under way keeps its mode until it returns"
says README.md "A task dump calls each suspended coroutine once more"
says include/aio/debug.h "code placed before AIO_BEGIN runs at every dump too"
says docs/guide.md "code you put before \`AIO_BEGIN\` runs at every dump too"
says docs/design.md "code placed before \`AIO_BEGIN\` runs at every dump"

# Docs never point at paths users do not have.
for f in README.md docs/design.md docs/guide.md docs/benchmarks.md; do
    never "$f" "../shared"
    never "$f" "/work/"
done

exit $fail
