#!/bin/sh
# Regenerates the bundled demo media from known English text (flite voice slt, deterministic).
#   samples/demo.mp4  + samples/demo.en.txt   (8 sentences with fixed pauses, ~37 s)
#   samples/demo2.mp4 + samples/demo2.en.txt  (3 sentences, ~10 s)
# Needs: flite, sox, ffmpeg.  Usage: sh samples/make-demo.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for tool in flite sox ffmpeg; do
  command -v "$tool" >/dev/null 2>&1 || { echo "make-demo: '$tool' not found (apt-get install $tool)" >&2; exit 1; }
done

silence() { # NAME SECONDS
  sox -R -D -n -r 16000 -c 1 -b 16 "$tmp/$1.wav" trim 0 "$2"
}

# build NAME LEAD TAIL "pause1 pause2 ..." < sentences (one per line)
build() {
  name=$1 lead=$2 tail=$3 pauses=$4
  i=0 parts=""
  silence "${name}_lead" "$lead"
  parts="$tmp/${name}_lead.wav"
  set -- $pauses
  while IFS= read -r sentence; do
    [ -n "$sentence" ] || continue
    i=$((i + 1))
    flite -voice slt -t "$sentence" -o "$tmp/${name}_raw$i.wav"
    sox -R -D "$tmp/${name}_raw$i.wav" -r 16000 -c 1 -b 16 "$tmp/${name}_s$i.wav"
    parts="$parts $tmp/${name}_s$i.wav"
    if [ $# -gt 0 ]; then
      silence "${name}_p$i" "$1"; shift
      parts="$parts $tmp/${name}_p$i.wav"
    fi
  done
  silence "${name}_tail" "$tail"
  # shellcheck disable=SC2086
  sox -R -D $parts "$tmp/${name}_tail.wav" "$tmp/$name.wav"
  ffmpeg -v error -y -f lavfi -i testsrc2=size=320x180:rate=15 -i "$tmp/$name.wav" \
    -map 0:v -map 1:a -c:v libx264 -preset veryfast -crf 32 -pix_fmt yuv420p -threads 1 \
    -c:a aac -b:a 64k -shortest -map_metadata -1 -fflags +bitexact -flags:v +bitexact -flags:a +bitexact \
    -metadata:s:a:0 language=eng "$here/$name.mp4"
}

build demo 0.5 0.7 "1.0 1.5 0.8 1.2 1.0 1.5 0.9" < "$here/demo.en.txt"
build demo2 0.4 0.6 "1.0 0.8" < "$here/demo2.en.txt"
ls -l "$here"/demo.mp4 "$here"/demo2.mp4
