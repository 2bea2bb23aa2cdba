#!/usr/bin/env bash
# System packages of the operations view's tests and benchmark: headless Chromium with its
# WebDriver (the browser test), wrk (benches/web.sh), and fonts for the screenshots.
set -euo pipefail
apt-get install -y --no-install-recommends chromium chromium-driver wrk fonts-dejavu-core
