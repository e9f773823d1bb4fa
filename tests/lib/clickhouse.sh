# tests/lib/clickhouse.sh - sourced after lib.sh: clickhouse-server on
# loopback for a test, as the test's user, in $T (no root daemon, no
# system config):
#   ch_skip_unless_installed      print SKIP and exit 0 when there is no
#                                 clickhouse-server (counts as skipped)
#   ch_start NAME [REMOTE [TCP]]  start server NAME: its config, data and
#                                 logs in $T/ch-NAME, free loopback ports;
#                                 sets CH_HTTP_NAME, CH_TCP_NAME; REMOTE is
#                                 a <remote_servers> body for Distributed
#                                 tables; stopped at exit
#   ch_stop NAME                  stop it now (waits until it has gone)
#   ch_query NAME SQL             run SQL over HTTP, print the answer
#   ch_two_shards DB              servers s1 and s2 as two shards of cluster
#                                 'cg': the crawl tables (sql/clickhouse)
#                                 in DB_local on both, Distributed tables
#                                 DB.<table> over them on s1
# clickhouse-server 18.16 (Debian 12) and current releases both read
# this config.
CH_SERVER=
ch_find() {
	for c in clickhouse-server /usr/sbin/clickhouse-server /usr/bin/clickhouse-server; do
		if command -v "$c" >/dev/null 2>&1; then CH_SERVER=$c; return 0; fi
	done
	if command -v clickhouse >/dev/null 2>&1; then CH_SERVER="clickhouse server"; return 0; fi
	return 1
}
ch_skip_unless_installed() {
	ch_find && return 0
	echo "SKIP $(basename "$0" .sh): clickhouse-server is not installed (apt-get install clickhouse-server)"
	exit 0
}
ch_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
ch_start() {
	_n=$1 _d=$T/ch-$1
	mkdir -p "$_d/data" "$_d/tmp" "$_d/files" "$_d/log"
	_http=$(ch_port) _tcp=${3:-$(ch_port)} _inter=$(ch_port)
	cat >"$_d/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
    <logger><level>warning</level><log>$_d/log/server.log</log><errorlog>$_d/log/error.log</errorlog><console>0</console></logger>
    <http_port>$_http</http_port>
    <tcp_port>$_tcp</tcp_port>
    <interserver_http_port>$_inter</interserver_http_port>
    <listen_host>127.0.0.1</listen_host>
    <path>$_d/data/</path>
    <tmp_path>$_d/tmp/</tmp_path>
    <user_files_path>$_d/files/</user_files_path>
    <format_schema_path>$_d/files/</format_schema_path>
    <users_config>$_d/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <mark_cache_size>67108864</mark_cache_size>
    <uncompressed_cache_size>67108864</uncompressed_cache_size>
    <max_concurrent_queries>50</max_concurrent_queries>
    <mlock_executable>false</mlock_executable>
    <remote_servers>${2:-}</remote_servers>
</yandex>
XML
	cat >"$_d/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
    <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
    <users><default><password></password><networks><ip>127.0.0.1</ip></networks>
        <profile>default</profile><quota>default</quota></default></users>
    <quotas><default></default></quotas>
</yandex>
XML
	# shellcheck disable=SC2086
	$CH_SERVER --config-file="$_d/config.xml" >"$_d/log/stdout" 2>&1 &
	echo $! >"$_d/pid"
	eval "CH_HTTP_$_n=$_http CH_TCP_$_n=$_tcp"
	at_exit "ch_stop $_n"
	if ! wait_until 150 0.2 ch_ping "$_http"; then
		fail "clickhouse-$_n-up" "$(tail -c 1500 "$_d/log/stdout" "$_d/log/error.log" 2>/dev/null)"
		exit 1
	fi
}
ch_ping() { curl -sS -f -o /dev/null "http://127.0.0.1:$1/ping" 2>/dev/null; }
ch_stop() {
	_p=$(cat "$T/ch-$1/pid" 2>/dev/null) || return 0
	rm -f "$T/ch-$1/pid"
	kill "$_p" 2>/dev/null && wait_until 100 0.2 ch_gone "$_p"
	kill -9 "$_p" 2>/dev/null
	return 0
}
ch_gone() { ! kill -0 "$1" 2>/dev/null; }
ch_port_of() { eval "echo \$CH_HTTP_$1"; }
ch_query() {
	curl -sS --fail-with-body --data-binary "$2" "http://127.0.0.1:$(ch_port_of "$1")/" 2>&1 ||
		curl -sS --data-binary "$2" "http://127.0.0.1:$(ch_port_of "$1")/"
}
# The crawl tables' CREATE statements (sql/clickhouse/*.sql), for database
# $1, one statement a line (for the HTTP interface, one a request).
ch_schema() {
	cat "$ROOT"/sql/clickhouse/*.sql | sed -e 's/--.*//' | tr '\n' ' ' | tr ';' '\n' |
		sed -e 's/  */ /g' -e 's/^ //' -e "s/{db}/$1/g" | grep -v '^ *$'
}
ch_two_shards() {
	_p1=$(ch_port) _p2=$(ch_port)
	_r="<cg><shard><replica><host>127.0.0.1</host><port>$_p1</port></replica></shard><shard><replica><host>127.0.0.1</host><port>$_p2</port></replica></shard></cg>"
	ch_start s1 "$_r" "$_p1"
	ch_start s2 "$_r" "$_p2"
	for s in s1 s2; do
		ch_query $s "CREATE DATABASE IF NOT EXISTS $1_local" >/dev/null
		ch_schema "$1_local" >"$T/ch-schema"
		while read -r q; do
			out=$(ch_query $s "$q")
			[ -z "$out" ] || { fail "ch-schema-$s" "$out"; exit 1; }
		done <"$T/ch-schema"
	done
	ch_query s1 "CREATE DATABASE IF NOT EXISTS $1" >/dev/null
	for t in $(ch_schema x | sed -n 's/^CREATE TABLE IF NOT EXISTS x\.\([a-z_]*\) .*/\1/p'); do
		# a path's rows on one shard (so ReplacingMergeTree can merge them)
		case $t in narinfos|presence) key='cityHash64(hash)' ;; *) key='rand()' ;; esac
		out=$(ch_query s1 "CREATE TABLE $1.$t AS $1_local.$t ENGINE = Distributed(cg, $1_local, $t, $key)")
		[ -z "$out" ] || { fail "ch-distributed-$t" "$out"; exit 1; }
	done
}
