"""translate: cues with IndicTrans2 (en-indic, indic-en or indic-indic 1B) -> cues.TARGET.json.

Usage: translate_indictrans2.py --cues cues.en.json --source en --target hi --out cues.hi.json
         --model ai4bharat/indictrans2-en-indic-1B --revision SHA [--profile cuda]
Pre- and post-processing (normalisation, script conversion, entity placeholders) is IndicTransToolkit's IndicProcessor.
"""
from __future__ import annotations

from languages import flores
from pipe_common import translation_args, local_snapshot, read_cues, run_main, torch_device, translated_cues, write_json

PROGRAM = "translate"


def parse_args():
    return translation_args(PROGRAM, batch_size=8)


def load_processor():
    try:  # IndicTransToolkit >= 1.0.3 exposes it at the top level; older releases only in .processor
        from IndicTransToolkit import IndicProcessor
    except ImportError:
        from IndicTransToolkit.processor import IndicProcessor
    return IndicProcessor(inference=True)


def main() -> None:
    args = parse_args()
    cues = read_cues(args.cues)
    src_lang, tgt_lang = flores(args.source), flores(args.target)
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    model_dir = local_snapshot(args.model, args.revision)
    device = torch_device(args.profile)
    processor = load_processor()
    tokenizer = AutoTokenizer.from_pretrained(model_dir, trust_remote_code=True, local_files_only=True)
    model = AutoModelForSeq2SeqLM.from_pretrained(model_dir, trust_remote_code=True, local_files_only=True,
                                                  torch_dtype=torch.float16 if device == "cuda" else torch.float32)
    model = model.to(device).eval()

    texts = [cue["text"] for cue in cues]
    out: list[str] = []
    for i in range(0, len(texts), args.batch_size):
        batch = processor.preprocess_batch(texts[i:i + args.batch_size], src_lang=src_lang, tgt_lang=tgt_lang)
        inputs = tokenizer(batch, truncation=True, padding="longest", max_length=256, return_tensors="pt",
                           return_attention_mask=True).to(device)
        with torch.inference_mode():
            generated = model.generate(**inputs, use_cache=True, min_length=0, max_length=256, num_beams=5,
                                       num_return_sequences=1)
        decoded = tokenizer.batch_decode(generated, skip_special_tokens=True, clean_up_tokenization_spaces=True)
        out.extend(processor.postprocess_batch(decoded, lang=tgt_lang))
    write_json(args.out, translated_cues(cues, out, args.target, args.source,
                                         f"indictrans2 {args.model}@{args.revision[:12]}"))


if __name__ == "__main__":
    run_main(PROGRAM, main)
