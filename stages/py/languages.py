"""ISO 639-1 (and a few ISO 639-3) codes -> FLORES-200 codes used by NLLB-200 and IndicTrans2."""

INDIC = {
    "as": "asm_Beng", "bn": "ben_Beng", "brx": "brx_Deva", "doi": "doi_Deva", "gom": "gom_Deva",
    "gu": "guj_Gujr", "hi": "hin_Deva", "kn": "kan_Knda", "ks": "kas_Arab", "mai": "mai_Deva",
    "ml": "mal_Mlym", "mni": "mni_Beng", "mr": "mar_Deva", "ne": "npi_Deva", "or": "ory_Orya",
    "pa": "pan_Guru", "sa": "san_Deva", "sat": "sat_Olck", "sd": "snd_Arab", "ta": "tam_Taml",
    "te": "tel_Telu", "ur": "urd_Arab",
}

OTHER = {
    "en": "eng_Latn", "es": "spa_Latn", "fr": "fra_Latn", "de": "deu_Latn", "it": "ita_Latn",
    "pt": "por_Latn", "ca": "cat_Latn", "nl": "nld_Latn", "ru": "rus_Cyrl", "uk": "ukr_Cyrl",
    "pl": "pol_Latn", "cs": "ces_Latn", "sk": "slk_Latn", "sl": "slv_Latn", "hr": "hrv_Latn",
    "sr": "srp_Cyrl", "bg": "bul_Cyrl", "ro": "ron_Latn", "hu": "hun_Latn", "el": "ell_Grek",
    "tr": "tur_Latn", "sv": "swe_Latn", "da": "dan_Latn", "nb": "nob_Latn", "fi": "fin_Latn",
    "et": "est_Latn", "lv": "lvs_Latn", "lt": "lit_Latn", "ga": "gle_Latn", "cy": "cym_Latn",
    "eu": "eus_Latn", "gl": "glg_Latn", "ar": "arb_Arab", "he": "heb_Hebr", "fa": "pes_Arab",
    "zh": "zho_Hans", "ja": "jpn_Jpan", "ko": "kor_Hang", "vi": "vie_Latn", "th": "tha_Thai",
    "id": "ind_Latn", "ms": "zsm_Latn", "tl": "tgl_Latn", "sw": "swh_Latn", "am": "amh_Ethi",
    "ha": "hau_Latn", "yo": "yor_Latn", "zu": "zul_Latn", "so": "som_Latn",
}

FLORES = {**OTHER, **INDIC}


def flores(code: str) -> str:
    from pipe_common import StageError

    if "_" in code:  # already a FLORES code such as hin_Deva
        return code
    if code not in FLORES:
        raise StageError(f"no FLORES-200 code known for language '{code}' (known: {', '.join(sorted(FLORES))})")
    return FLORES[code]
