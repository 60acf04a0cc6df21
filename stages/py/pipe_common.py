"""Shared helpers for the production stage programs (Python side of stages/).

They exchange the same JSON files as the offline Node programs:
  segments.json  {"audio_duration": s, "segments": [{"start": s, "end": s}]}
  words.json     {"language": "en", "engine": "...", "words": [{"word", "start", "end", "confidence"}]}
  cues.LANG.json {"language": "es", "cues": [{"start", "end", "text"}]}
Models are read from the Hugging Face cache only (HF_HUB_OFFLINE=1 is set by pipe for stages that
need fetch stages): the `cache:*` stages download them, these programs never do.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from typing import Any, NoReturn


class StageError(Exception):
    """A user-facing error: printed as one line, no traceback."""


def fail(program: str, message: str) -> NoReturn:
    sys.stderr.write(f"{program}: {message.splitlines()[0] if message else 'failed'}\n")
    sys.exit(1)


def run_main(program: str, main) -> None:
    try:
        main()
    except StageError as err:
        fail(program, str(err))
    except ImportError as err:
        fail(program, f"{err} (create the environment with: pipe run bootstrap:env:*)")


def write_json(path: str, value: Any) -> None:
    """Writes via a temporary file and a rename, so readers never see half a file."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(value, out, ensure_ascii=False, indent=2)
        out.write("\n")
    os.replace(tmp, path)


def write_text(path: str, text: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(tmp, path)


def read_json(path: str) -> Any:
    if not os.path.exists(path):
        raise StageError(f"file not found: {path}")
    with open(path, encoding="utf-8") as src:
        return json.load(src)


def read_cues(path: str) -> list[dict]:
    data = read_json(path)
    cues = data.get("cues") if isinstance(data, dict) else None
    if not isinstance(cues, list):
        raise StageError(f'{path}: expected {{"cues": [...]}}')
    return cues


def local_snapshot(repo: str, revision: str) -> str:
    """The local folder of a cached model snapshot; never downloads (the cache:* stages do)."""
    from huggingface_hub import snapshot_download

    try:
        return snapshot_download(repo_id=repo, revision=revision, local_files_only=True)
    except Exception as err:  # LocalEntryNotFoundError and friends
        raise StageError(f"model {repo}@{revision} is not in the cache (run: pipe run cache:all): {err}") from err


def torch_device(profile: str) -> str:
    """cuda -> cuda, mlx (Apple Silicon) -> mps, cpu -> cpu."""
    return {"cuda": "cuda", "mlx": "mps", "cpu": "cpu"}.get(profile, "cpu")


def words_payload(language: str, engine: str, words: list[dict]) -> dict:
    clean = [
        {
            "word": str(w["word"]).strip(),
            "start": round(float(w["start"]), 3),
            "end": round(float(w["end"]), 3),
            "confidence": round(float(w.get("confidence", 1.0)), 3),
        }
        for w in words
        if str(w.get("word", "")).strip() and w.get("start") is not None and w.get("end") is not None
    ]
    clean.sort(key=lambda w: w["start"])
    return {"language": language, "engine": engine, "words": clean}


def translated_cues(source_cues: list[dict], texts: list[str], language: str, source: str, engine: str) -> dict:
    if len(texts) != len(source_cues):
        raise StageError(f"translation returned {len(texts)} texts for {len(source_cues)} cues")
    cues = [
        {"start": cue["start"], "end": cue["end"], "text": " ".join(text.split())}
        for cue, text in zip(source_cues, texts)
    ]
    return {"language": language, "source_language": source, "engine": engine, "cues": cues}


def translation_args(program: str, batch_size: int) -> argparse.Namespace:
    """The command line every translation program takes (cues in, translated cues out, the model pinned)."""
    parser = argparse.ArgumentParser(prog=program)
    parser.add_argument("--cues", required=True)
    parser.add_argument("--source", required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--revision", required=True)
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--batch-size", type=int, default=batch_size)
    return parser.parse_args()
