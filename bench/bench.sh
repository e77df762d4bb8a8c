#!/bin/sh
#
# bench.sh --
#
#	dustmote's own load figures, printed as the README's table:
#	    bench/bench.sh ?LAUNCHER? ?SECONDS?
#	LAUNCHER is the dustmote launcher to measure (default ./dustmote),
#	SECONDS the length of each wrk run (default 5).  The server runs on
#	CPU 0 and wrk on CPU 1 when taskset exists.  Needs wrk (Debian
#	package wrk); without it, says so and exits 0.
#
# Copyright (c) 2026 the dustmote developers.
# See the file "LICENSE" for terms of use.

launcher=${1:-./dustmote}
secs=${2:-5}

if ! command -v wrk >/dev/null 2>&1; then
    echo "bench: wrk is not installed (apt-get install wrk); nothing measured"
    exit 0
fi
server_cpu="" client_cpu=""
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
    server_cpu="taskset -c 0"
    client_cpu="taskset -c 1"
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null

work=$(mktemp -d /tmp/dustmote-bench.XXXXXX)
pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT INT TERM
mkdir "$work/www"
head -c 1024 /dev/urandom >"$work/www/1k.bin"
head -c 104857600 /dev/urandom >"$work/www/100m.bin"
# A route answering 100 bytes from Tcl, installed by a -config script.
cat >"$work/route.tcl" <<'EOF2'
set ::hello "[string repeat x 99]\n"
$server route /hello {apply {{request} {list status 200 body $::hello}}}
EOF2

# start LOGOPTION: starts the server, logging to a file or not at all.
start() {
    $server_cpu "$launcher" -root "$work/www" -port 0 -myaddr 127.0.0.1 \
	-maxconnections 20000 "$@" >"$work/log" 2>&1 &
    pid=$!
    port=""
    for _ in $(seq 50); do
	port=$(sed -n 's|^dustmote: serving .* on http://127.0.0.1:\([0-9]*\)/$|\1|p' \
	    "$work/log")
	[ -n "$port" ] && return 0
	sleep 0.1
    done
    echo "bench: $launcher did not start: $(tail -2 "$work/log")" >&2
    exit 1
}

stop() {
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    pid=""
}

# run CONNECTIONS PATH ?wrk options?: requests/s, or MB/s for the big file.
run() {
    conns=$1 path=$2
    shift 2
    $client_cpu wrk -t1 -c"$conns" -d"${secs}s" --timeout 10s "$@" \
	"http://127.0.0.1:$port$path" >"$work/wrk" 2>&1
    case $path in
    *100m*)
	awk '/^Transfer\/sec/ { v = $2; u = substr(v, length(v) - 1); n = v + 0;
	    if (u == "GB") n *= 1024; else if (u == "KB") n /= 1024;
	    printf "%.0f MB/s", n }' "$work/wrk" ;;
    *)
	awk '/^Requests\/sec/ { printf "%.0f req/s", $2 }' "$work/wrk" ;;
    esac
    errors=$(awk '/Non-2xx|Socket errors/' "$work/wrk")
    [ -n "$errors" ] && printf ' (%s)' "$(echo $errors)"
}

echo "| workload | what | dustmote |"
echo "|---|---|---|"
start
echo "| ka | 1 KiB file, keep-alive, 64 connections | $(run 64 /1k.bin) |"
echo "| close | 1 KiB file, \`Connection: close\`, 64 connections | $(run 64 /1k.bin -H 'Connection: close') |"
echo "| big | 100 MiB file, keep-alive, 4 connections | $(run 4 /100m.bin) |"
echo "| c5k | 1 KiB file, keep-alive, 5,000 connections | $(run 5000 /1k.bin) |"
stop
start -config "$work/route.tcl"
echo "| route | a Tcl route answering 100 bytes, keep-alive, 64 connections | $(run 64 /hello) |"
stop
start -accesslog ""
echo "| ka, no log | as ka, with the access log off (the rows above log to a file) | $(run 64 /1k.bin) |"
stop
