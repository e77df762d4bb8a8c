#!/bin/sh
#
# bench.sh --
#
#	dustmote's load figures, printed as the README's table:
#	    bench/bench.sh ?LAUNCHER? ?SECONDS? ?PEERS? ?ROUNDS? ?CAP?
#	LAUNCHER is the dustmote launcher to measure (default ./dustmote),
#	SECONDS the length of each wrk run (default 5), PEERS a list of other
#	servers to measure on the same files in the same run, for comparison:
#	"nginx lighttpd tcllib" (Debian packages nginx-light, lighttpd and
#	tcllib, whose httpd runs from bench/tcllib-httpd.tcl; one worker
#	each, sendfile on, no access log; a peer that is not installed is
#	left out).  ROUNDS (default 1) measures every server that many
#	times, in an order rotated each round, and prints each figure's
#	median.  CAP, a percentage, limits each server to that share of one
#	CPU (a cgroup CPU quota; needs root), so that the server and not wrk
#	is what is measured.  The servers run one at a time on CPU 0 and wrk
#	on CPU 1 when taskset exists, but for the workers row: dustmote with
#	-workers 2 and nginx with two worker processes, each sharing both
#	CPUs with wrk.  Needs wrk (Debian package wrk);
#	without it, says so and exits 0.  The 304 row asks each server for
#	its ETag with curl.  The TLS rows (dustmote and nginx, on a
#	certificate made with openssl at the start) are left out where
#	openssl is missing.
#
# Copyright (c) 2026 the dustmote developers.
# See the file "LICENSE" for terms of use.

launcher=${1:-./dustmote}
secs=${2:-5}
peers=${3:-}
rounds=${4:-1}
cap=${5:-}

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
cgroup=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$work"
    [ -n "$cgroup" ] && rmdir "$cgroup" 2>/dev/null
}
trap cleanup EXIT INT TERM
mkdir "$work/www"
head -c 1024 /dev/urandom >"$work/www/1k.bin"
head -c 104857600 /dev/urandom >"$work/www/100m.bin"
# A certificate for the TLS rows: ECDSA P-256, as most sites now use.
tls=""
if command -v openssl >/dev/null 2>&1 && openssl req -x509 -newkey ec \
	-pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/key.pem" \
	-out "$work/cert.pem" -days 2 -subj /CN=localhost >/dev/null 2>&1
then
    tls="-certfile $work/cert.pem -keyfile $work/key.pem -tickets 0"
fi
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
# say otherwise; on CPU 0 unless pin is empty.
pin=$server_cpu
start() {
    $pin "$launcher" -root "$work/www" -port 0 -myaddr 127.0.0.1 \
	-maxconnections 20000 -accesslog "$work/access.log" "$@" \
	>"$work/log" 2>&1 &
    pid=$!
    port=""
    for _ in $(seq 50); do
	port=$(sed -n 's|^dustmote: serving .* on https*://127.0.0.1:\([0-9]*\)/.*$|\1|p' \
	    "$work/log")
	[ -n "$port" ] && return 0
	sleep 0.1
    done
    echo "bench: $launcher did not start: $(tail -2 "$work/log")" >&2
    exit 1
}

# startpeer NAME ?WORKERS?: starts nginx, lighttpd or tcllib's httpd on
# the same files
# (nginx with WORKERS processes, default 1); 1 if the peer is not
# installed.
startpeer() {
    port=19611
    case $1 in
    nginx)
	command -v nginx >/dev/null 2>&1 || return 1
	mkdir -p "$work/nginx/logs"
	master=off
	[ "${2:-1}" -gt 1 ] && master=on
	nginxssl=""
	[ "$scheme" = https ] && nginxssl="ssl; ssl_certificate $work/cert.pem;
	    ssl_certificate_key $work/key.pem; ssl_protocols TLSv1.2 TLSv1.3;
	    ssl_session_cache off; ssl_session_tickets off"
	cat >"$work/nginx/nginx.conf" <<EOF
worker_processes ${2:-1};
master_process $master;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
events { worker_connections 20000; }
http {
    access_log off; sendfile on; tcp_nopush on;
    keepalive_requests 100000000;
    default_type application/octet-stream;
    server { listen 127.0.0.1:$port $nginxssl; root $work/www; }
}
EOF
	$pin nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" \
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
	$pin lighttpd -D -f "$work/lighttpd.conf" >"$work/log" 2>&1 &
	;;
    tcllib)
	echo 'package require httpd' | tclsh8.6 >/dev/null 2>&1 || return 1
	$pin tclsh8.6 "$(dirname "$0")/tcllib-httpd.tcl" "$work/www" "$port" \
	    >"$work/log" 2>&1 &
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

# capped: with CAP, moves the server started last (and its children)
# into a cgroup whose CPU quota is CAP % of one CPU: cgroup v1's cpu
# controller, or v2's cpu.max.
capped() {
    [ -n "$cap" ] || return 0
    if [ -z "$cgroup" ]; then
	if [ -d /sys/fs/cgroup/cpu ] && [ -w /sys/fs/cgroup/cpu ]; then
	    cgroup=/sys/fs/cgroup/cpu/dustmote-bench.$$
	    mkdir -p "$cgroup"
	    echo 100000 >"$cgroup/cpu.cfs_period_us"
	    echo $((cap * 1000)) >"$cgroup/cpu.cfs_quota_us"
	elif grep -qw cpu /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
	    cgroup=/sys/fs/cgroup/dustmote-bench.$$
	    mkdir -p "$cgroup"
	    echo "$((cap * 1000)) 100000" >"$cgroup/cpu.max"
	else
	    echo "bench: a CPU cap needs a writable cgroup cpu controller" >&2
	    exit 2
	fi
    fi
    for p in "$pid" $(pgrep -P "$pid"); do
	echo "$p" >"$cgroup/cgroup.procs"
    done
}

# median FILE...: line by line, the median of the figures in the files
# (the number first, then its unit and any note of the middle one).
median() {
    awk 'FNR == 1 { f++ }
	{ v[FNR, f] = $0; n[FNR, f] = $1 + 0; if (FNR > lines) lines = FNR }
	END {
	    k = f
	    for (l = 1; l <= lines; l++) {
		for (i = 1; i <= k; i++) { idx[i] = i }
		for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++)
		    if (n[l, idx[j]] < n[l, idx[i]]) {
			t = idx[i]; idx[i] = idx[j]; idx[j] = t
		    }
		print v[l, idx[int((k + 1) / 2)]]
	    }
	}' "$@"
}

# etag PATH: the entity-tag the server started last gives the file, for
# the 304 row (each server makes its own); needs curl.
etag() {
    curl -sI "http://127.0.0.1:$port$1" | tr -d '\r' \
	| awk 'tolower($1) == "etag:" { print $2 }'
}

# run CONNECTIONS PATH ?wrk options?: requests/s, or MB/s for the big file,
# over $scheme.
client=$client_cpu
scheme=http
run() {
    conns=$1 path=$2
    shift 2
    $client wrk -t1 -c"$conns" -d"${secs}s" --timeout 10s "$@" \
	"$scheme://127.0.0.1:$port$path" >"$work/wrk" 2>&1
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

# workers NAME: the workers row, two processes of the server started by
# the command NAME, sharing both CPUs with wrk; "-" for a server with no
# such mode, and under a cap (one quota for both processes would measure
# nothing more than the ka row).
workers() {
    if [ -n "$cap" ]; then
	echo "-"
	return 0
    fi
    pin="" client=""
    case $1 in
    dustmote) start -workers 2 -accesslog "" ;;
    nginx) startpeer nginx 2 ;;
    *) echo "-"; pin=$server_cpu client=$client_cpu; return 0 ;;
    esac
    capped
    run 64 /1k.bin; echo
    stop
    pin=$server_cpu client=$client_cpu
}

# tlsrows NAME: the tls-ka and tls-close rows, with no session resumption
# (wrk would resume a session whenever the server offers a ticket), so
# that each connection of tls-close is a full handshake; "-" for a server
# not set up for TLS here or without a certificate.
tlsrows() {
    if [ -z "$tls" ] || { [ "$1" != dustmote ] && [ "$1" != nginx ]; }; then
	printf -- '-\n-\n'
	return 0
    fi
    scheme=https
    if [ "$1" = dustmote ]; then
	start -tls "$tls"
    else
	startpeer nginx
    fi
    capped
    run 64 /1k.bin; echo
    run 64 /1k.bin -H 'Connection: close'; echo
    stop
    scheme=http
}

# measure NAME ROUND: one round of NAME's figures, in figures.NAME.ROUND
# (dustmote's with its route and no-log rows after the others); 1 if a
# peer is not installed.
measure() {
    out=$work/figures.$1.$2
    if [ "$1" = dustmote ]; then
	start
	capped
	static >"$out"
	stop
	start -config "$work/route.tcl"
	capped
	{ run 64 /hello; echo; } >>"$out"
	stop
	start -accesslog ""
	capped
	{ run 64 /1k.bin; echo; } >>"$out"
	stop
    else
	startpeer "$1" || return 1
	capped
	static >"$out"
	stop
    fi
    workers "$1" >>"$out"
    tlsrows "$1" >>"$out"
}

all="dustmote $peers"
names=""
round=1
while [ "$round" -le "$rounds" ]; do
    for name in $all; do
	if measure "$name" "$round" && [ "$round" -eq 1 ]; then
	    names="$names $name"
	fi
    done
    all="$(echo "$all" | awk '{ for (i = 2; i <= NF; i++) printf "%s ", $i;
	print $1 }')"
    round=$((round + 1))
done
for name in $names; do
    median "$work/figures.$name".* >"$work/figures.$name"
done
route=$(sed -n 7p "$work/figures.dustmote")
nolog=$(sed -n 8p "$work/figures.dustmote")
sed -i 7,8d "$work/figures.dustmote"	# The workers row is now 7th,
					# the TLS rows 8th and 9th.
[ -n "$cap" ] && echo "Each server capped at $cap % of one CPU; medians of $rounds round(s)."
[ -z "$cap" ] && [ "$rounds" -gt 1 ] && echo "Medians of $rounds rounds."

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
	"workers|as ka, no log, two server processes (\`-workers 2\`; nginx \`worker_processes 2\`) sharing both CPUs with wrk" \
	"tls-ka|as ka, over TLS 1.3 (ECDSA P-256 certificate, X25519)" \
	"tls-close|as close, over TLS 1.3: a full handshake per request (no session cache or tickets: \`-tickets 0\`; nginx \`ssl_session_cache off; ssl_session_tickets off\`)" \
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
