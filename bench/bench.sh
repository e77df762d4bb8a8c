#!/bin/sh
#
# bench.sh --
#
#	dustmote's load figures, printed as the README's table:
#	    bench/bench.sh ?LAUNCHER? ?SECONDS? ?PEERS?
#	LAUNCHER is the dustmote launcher to measure (default ./dustmote),
#	SECONDS the length of each wrk run (default 5), PEERS a list of other
#	servers to measure on the same files in the same run, for comparison:
#	"nginx lighttpd" (Debian packages nginx-light and lighttpd; one
#	worker each, sendfile on, no access log; a peer that is not installed
#	is left out).  The servers run one at a time on CPU 0 and wrk on
#	CPU 1 when taskset exists.  Needs wrk (Debian package wrk); without
#	it, says so and exits 0.  The 304 row asks each server for its
#	ETag with curl.
#
# Copyright (c) 2026 the dustmote developers.
# See the file "LICENSE" for terms of use.

launcher=${1:-./dustmote}
secs=${2:-5}
peers=${3:-}

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
chmod 755 "$work"
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
cat >"$work/route.tcl" <<'EOF'
set ::hello "[string repeat x 99]\n"
$server route /hello {apply {{request} {list status 200 body $::hello}}}
EOF

# waitport PORT: waits until something listens on the port.
waitport() {
    for _ in $(seq 50); do
	if wrk -t1 -c1 -d1s "http://127.0.0.1:$1/1k.bin" 2>/dev/null \
		| grep -q '^Requests/sec'; then
	    return 0
	fi
	sleep 0.1
    done
    echo "bench: no server on port $1: $(tail -2 "$work/log")" >&2
    exit 1
}

# start ?OPTIONS?: starts dustmote, logging to a file unless the options
# say otherwise.
start() {
    $server_cpu "$launcher" -root "$work/www" -port 0 -myaddr 127.0.0.1 \
	-maxconnections 20000 -accesslog "$work/access.log" "$@" \
	>"$work/log" 2>&1 &
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

# startpeer NAME: starts nginx or lighttpd on the same files; 1 if the
# peer is not installed.
startpeer() {
    port=19611
    case $1 in
    nginx)
	command -v nginx >/dev/null 2>&1 || return 1
	mkdir -p "$work/nginx/logs"
	cat >"$work/nginx/nginx.conf" <<EOF
worker_processes 1;
master_process off;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
events { worker_connections 20000; }
http {
    access_log off; sendfile on; tcp_nopush on;
    keepalive_requests 100000000;
    default_type application/octet-stream;
    server { listen 127.0.0.1:$port; root $work/www; }
}
EOF
	$server_cpu nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" \
	    >"$work/log" 2>&1 &
	;;
    lighttpd)
	command -v lighttpd >/dev/null 2>&1 || return 1
	cat >"$work/lighttpd.conf" <<EOF
server.document-root = "$work/www"
server.port = $port
server.bind = "127.0.0.1"
server.max-keep-alive-requests = 100000000
server.max-fds = 40000
server.max-connections = 20000
mimetype.assign = ( ".bin" => "application/octet-stream" )
EOF
	$server_cpu lighttpd -D -f "$work/lighttpd.conf" >"$work/log" 2>&1 &
	;;
    *)
	return 1 ;;
    esac
    pid=$!
    waitport $port
}

stop() {
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    pid=""
}

# etag PATH: the entity-tag the server started last gives the file, for
# the 304 row (each server makes its own); needs curl.
etag() {
    curl -sI "http://127.0.0.1:$port$1" | tr -d '\r' \
	| awk 'tolower($1) == "etag:" { print $2 }'
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

# static: the file workloads against the server started last, one
# figure per line.
static() {
    run 64 /1k.bin; echo
    run 64 /1k.bin -H 'Connection: close'; echo
    run 4 /100m.bin; echo
    run 5000 /1k.bin; echo
    run 64 /1k.bin -H "If-None-Match: $(etag /1k.bin)"; echo
    run 64 /1k.bin -H 'Range: bytes=100-199'; echo
}

start
static >"$work/figures.dustmote"
stop
start -config "$work/route.tcl"
route=$(run 64 /hello)
stop
start -accesslog ""
nolog=$(run 64 /1k.bin)
stop
names="dustmote"
for peer in $peers; do
    if startpeer "$peer"; then
	static >"$work/figures.$peer"
	stop
	names="$names $peer"
    fi
done

# The table: a row a workload, a column a server.
head="| workload | what |"
rule="|---|---|"
for name in $names; do
    head="$head $name |"
    rule="$rule---|"
done
echo "$head"
echo "$rule"
n=0
for row in "ka|1 KiB file, keep-alive, 64 connections" \
	"close|1 KiB file, \`Connection: close\`, 64 connections" \
	"big|100 MiB file, keep-alive, 4 connections" \
	"c5k|1 KiB file, keep-alive, 5,000 connections" \
	"304|as ka, revalidated: If-None-Match with the file's ETag gets 304" \
	"range|as ka, \`Range: bytes=100-199\` gets 206" \
	; do
    n=$((n + 1))
    line="| ${row%%|*} | ${row#*|} |"
    for name in $names; do
	line="$line $(sed -n "${n}p" "$work/figures.$name") |"
    done
    echo "$line"
done
echo "| route | a Tcl route answering 100 bytes, keep-alive, 64 connections | $route |"
echo "| ka, no log | as ka, with dustmote's access log off (the rows above log to a file) | $nolog |"
