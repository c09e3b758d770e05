#!/usr/bin/env bash
# Render every document (A4 and 80 mm slip) from the samples and turn each page
# into a PNG here, with the project's own command. Look at them after a layout
# change: bash docs/documents/make.sh
set -euo pipefail
cd "$(dirname "$0")"
HALLAPP=${HALLAPP:-../../.venv/bin/hallapp}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Only the pages this script makes (the projects' and reports' pages come from
# their own scripts and stay).
rm -f acceptance-*.png conditional-*.png one-time-*.png rejection-*.png referral-*.png \
  hand-over-*.png duty-card-*.png bundle-*.png
for type in acceptance conditional one-time rejection referral hand-over duty-card; do
  for size in a4 slip; do
    "$HALLAPP" render "$type" --sample --size "$size" --out "$tmp/$type-$size.pdf" >/dev/null
    pdftoppm -r 90 -gray -png "$tmp/$type-$size.pdf" "$type-$size"
  done
done
# The stress case: 40 materials to correct and a 60-character company name.
"$HALLAPP" render one-time --sample --long --size a4 --out "$tmp/long-a4.pdf" >/dev/null
pdftoppm -r 90 -gray -png "$tmp/long-a4.pdf" one-time-long-a4
"$HALLAPP" render one-time --sample --long --size slip --out "$tmp/long-slip.pdf" >/dev/null
pdftoppm -r 90 -gray -png "$tmp/long-slip.pdf" one-time-long-slip
# A reprint (补打) carries its mark and time.
"$HALLAPP" render acceptance --sample --reprint 2026-11-23T14:05 --size a4 --out "$tmp/reprint.pdf" >/dev/null
pdftoppm -r 90 -gray -png "$tmp/reprint.pdf" acceptance-reprint-a4
# A bundle (开办企业一件事) taken at a 综合窗口, as the bundle test issues it: the
# 受理通知书 listing every member department and the 一窗出件 result.
HALLAPP_BUNDLE_DOCS="$tmp" ../../.venv/bin/pytest -q -p no:cacheprovider \
  ../../tests/bundles/test_bundle_flow.py -k "sqlite and parallel" >/dev/null
for f in "$tmp"/bundle-*.pdf; do
  pdftoppm -r 90 -gray -png "$f" "$(basename "$f" .pdf)"
done
ls -1 ./*.png
