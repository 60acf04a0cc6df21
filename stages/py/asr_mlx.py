"""asr: MLX Whisper (Apple Silicon) with word timestamps -> words.json + transcript.

Usage: asr_mlx.py --in vocals.wav --language en --model mlx-community/whisper-large-v3-mlx --revision SHA
         --words words.json --transcript t.txt
"""
from __future__ import annotations

import argparse
import os

from pipe_common import StageError, local_snapshot, run_main, words_payload, write_json, write_text

PROGRAM = "asr"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROGRAM)
    parser.add_argument("--in", dest="input", required=True)
    parser.add_argument("--language", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--revision", required=True)
    parser.add_argument("--words", required=True)
    parser.add_argument("--transcript", required=True)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if not os.path.exists(args.input):
        raise StageError(f"audio not found: {args.input}")
    import mlx_whisper

    model_dir = local_snapshot(args.model, args.revision)
    result = mlx_whisper.transcribe(args.input, path_or_hf_repo=model_dir, language=args.language,
                                    word_timestamps=True, condition_on_previous_text=False)
    words = [
        {"word": w["word"], "start": w["start"], "end": w["end"], "confidence": w.get("probability", 1.0)}
        for segment in result["segments"]
        for w in segment.get("words", [])
    ]
    write_json(args.words, words_payload(args.language, f"mlx-whisper {args.model}@{args.revision[:12]}", words))
    write_text(args.transcript, result["text"].strip() + "\n")


if __name__ == "__main__":
    run_main(PROGRAM, main)
