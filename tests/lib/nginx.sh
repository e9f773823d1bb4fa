# tests/lib/nginx.sh - serve a directory over HTTP with Debian's nginx.
# Sourced after lib.sh.  Gives:
#   nginx_start DOCROOT   start nginx in the foreground of a background job,
#                         on 127.0.0.1 and a free port; sets NGINX_URL
#                         (http://127.0.0.1:PORT) and NGINX_DIR (its config,
#                         logs and temp dirs, under $T); returns once it answers
#   nginx_stop            stop it (also done on exit, however the test ends)
# NGINX_EXTRA, when set before nginx_start, is pasted into the server block:
# a later test's own locations, delays or errors.
# Served: gzip for narinfos and text (when the client asks), HTTP/1.1
# keep-alive, directory listings off, access log in $NGINX_DIR/access.log.

NGINX_PID=
NGINX_WATCH=

nginx_stop() {
	if [ -n "$NGINX_PID" ]; then
		kill "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null
		NGINX_PID=
	fi
	if [ -n "$NGINX_WATCH" ]; then
		kill "$NGINX_WATCH" 2>/dev/null
		NGINX_WATCH=
	fi
	:
}

# _nginx_conf PORT DOCROOT: the whole configuration.
_nginx_conf() {
	_nginx_user=
	[ "$(id -u)" = 0 ] && _nginx_user="user root root;"  # workers must read $T (mode 700)
	cat <<EOF
$_nginx_user
worker_processes 1;
pid $NGINX_DIR/nginx.pid;
error_log $NGINX_DIR/error.log warn;
events { worker_connections 256; }
http {
	access_log $NGINX_DIR/access.log;
	client_body_temp_path $NGINX_DIR/tmp/body;
	proxy_temp_path $NGINX_DIR/tmp/proxy;
	fastcgi_temp_path $NGINX_DIR/tmp/fastcgi;
	uwsgi_temp_path $NGINX_DIR/tmp/uwsgi;
	scgi_temp_path $NGINX_DIR/tmp/scgi;
	types {
		text/x-nix-narinfo narinfo;
		text/plain ls txt;
		application/x-nix-nar nar;
		application/x-xz xz;
		application/x-bzip2 bz2;
		application/zstd zst;
	}
	default_type text/plain;
	sendfile on;
	keepalive_timeout 60;
	keepalive_requests 100000;
	gzip on;
	gzip_min_length 1;
	gzip_types text/x-nix-narinfo text/plain;
	server {
		listen 127.0.0.1:$1;
		server_name localhost;
		root $2;
		autoindex off;
		# Tells our nginx from anything else that answers on the port.
		location = /.cachegc-ready { return 200 "$NGINX_TOKEN\n"; }
		${NGINX_EXTRA:-}
	}
}
EOF
}

nginx_start() {
	need nginx curl
	[ -d "$1" ] || { fail nginx-start "no such directory '$1'"; exit 1; }
	nginx_stop
	docroot=$(cd "$1" && pwd)
	NGINX_DIR="$T/nginx"
	mkdir -p "$NGINX_DIR/tmp"
	at_exit nginx_stop
	NGINX_TOKEN=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
	tries=0
	while [ $tries -lt 20 ]; do
		tries=$((tries + 1))
		# A port in 20000..59999, from the kernel's random pool.
		port=$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000 + 20000 ))
		_nginx_conf "$port" "$docroot" >"$NGINX_DIR/nginx.conf"
		: >"$NGINX_DIR/error.log"
		# -e: nginx logs to its built-in path until the config is read.
		nginx -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" -e "$NGINX_DIR/error.log" \
			-g 'daemon off; master_process on;' </dev/null >"$NGINX_DIR/stderr" 2>&1 &
		NGINX_PID=$!
		NGINX_URL="http://127.0.0.1:$port"
		i=0
		while [ $i -lt 100 ]; do
			if ! kill -0 "$NGINX_PID" 2>/dev/null; then
				wait "$NGINX_PID" 2>/dev/null
				NGINX_PID=
				break
			fi
			if [ "$(curl -s --max-time 2 "$NGINX_URL/.cachegc-ready")" = "$NGINX_TOKEN" ]; then
				# A watchdog, so nginx never outlives a test killed too hard
				# for its traps to run.
				(
					trap - EXIT INT TERM
					while kill -0 $$ 2>/dev/null; do sleep 1; done
					kill "$NGINX_PID" 2>/dev/null
				) </dev/null >/dev/null 2>&1 &
				NGINX_WATCH=$!
				export NGINX_URL NGINX_DIR
				return 0
			fi
			sleep 0.1
			i=$((i + 1))
		done
		if [ -n "$NGINX_PID" ]; then
			fail nginx-start "nginx on port $port did not answer in 10 s: $(cat "$NGINX_DIR/error.log" "$NGINX_DIR/stderr")"
			nginx_stop
			exit 1
		fi
		grep -q 'Address already in use' "$NGINX_DIR/error.log" "$NGINX_DIR/stderr" && continue
		fail nginx-start "nginx failed: $(cat "$NGINX_DIR/error.log" "$NGINX_DIR/stderr")"
		exit 1
	done
	fail nginx-start "no free port after $tries tries"
	exit 1
}
