# tests/lib/s3rver.sh - an S3 bucket on loopback for a test (sourced after
# lib.sh): s3rver (npm's S3 server) behind tests/lib/s3_sigv4_proxy.py,
# which checks every request's AWS Signature V4 as S3 does (s3rver does
# not).
#   s3rver_start BUCKET   start both on free ports, wait until the bucket
#                         answers; sets EP (the proxy's URL, what cachegc
#                         is given as --endpoint) and SIG (curl's options
#                         to sign a request with the test's credentials,
#                         S3RVER:S3RVER); both stop when the test ends.
s3rver_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
s3rver_start() {
	S3PORT=$(s3rver_port)
	PXPORT=$(s3rver_port)
	mkdir "$T/s3"
	# Node 17+ has no DES by default, which s3rver's continuation tokens use.
	NODE_OPTIONS=--openssl-legacy-provider s3rver -d "$T/s3" -a 127.0.0.1 -p "$S3PORT" -s \
		--configure-bucket "$1" >"$T/s3rver.log" 2>&1 &
	S3PID=$!
	at_exit "kill $S3PID 2>/dev/null"
	python3 "$ROOT/tests/lib/s3_sigv4_proxy.py" "$PXPORT" "$S3PORT" S3RVER S3RVER \
		>"$T/proxy.out" 2>"$T/proxy.log" &
	PXPID=$!
	at_exit "kill $PXPID 2>/dev/null"
	EP=http://127.0.0.1:$PXPORT
	SIG="--aws-sigv4 aws:amz:us-east-1:s3 --user S3RVER:S3RVER -H x-amz-content-sha256:UNSIGNED-PAYLOAD"
	s3rver_ready() { curl -sS $SIG -o /dev/null -f "$EP/$1?list-type=2" 2>/dev/null; }
	wait_until 50 0.2 s3rver_ready "$1" && pass s3-up ||
		{ fail s3-up "$(cat "$T/s3rver.log" "$T/proxy.log")"; exit 1; }
}
