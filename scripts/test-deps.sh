#!/usr/bin/env bash
# Installs what Gatehouse's tests need when it is missing: headless Chromium
# for the browser tests, coturn's turnutils_uclient/turnutils_peer for the
# TURN relay tests, ffmpeg (ffmpeg and ffprobe) to decode recordings and to
# encode the H.264 and VP9 test clips (Debian packages), and staticcheck (Go
# module).
# Idempotent; safe to run on every test run.
set -euo pipefail

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v turnutils_uclient >/dev/null 2>&1 || need_apt+=(coturn)
command -v ffprobe >/dev/null 2>&1 || need_apt+=(ffmpeg)

if ((${#need_apt[@]})); then
	echo "test-deps: installing ${need_apt[*]}" >&2
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
	# The tests need only coturn's client tools, never its server: where the
	# package just enabled the coturn service, stop it again.
	if [[ " ${need_apt[*]} " == *" coturn "* ]] && command -v systemctl >/dev/null 2>&1 &&
		systemctl is-enabled --quiet coturn 2>/dev/null; then
		$sudo systemctl disable --now coturn >/dev/null 2>&1 || true
	fi
fi

if ! command -v staticcheck >/dev/null 2>&1 && [ ! -x "$(go env GOPATH)/bin/staticcheck" ]; then
	echo "test-deps: installing staticcheck" >&2
	go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
fi
