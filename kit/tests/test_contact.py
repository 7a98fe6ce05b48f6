"""Contact normalisation: the mainland-mobile fast path agrees with phonenumbers."""

from shangji_kit import contact


def test_the_fast_path_for_mainland_mobiles_agrees_with_phonenumbers():
    import random

    rnd = random.Random(5)
    samples = [f"1{rnd.randrange(10**10):010d}" for _ in range(20000)]
    samples += [f"{p}{rnd.randrange(10**6):06d}" for p in ("17400", "17405", "17406", "16100", "16110")]
    samples += [f"{s[:3]} {s[3:7]}-{s[7:]}" for s in samples[:200]] + ["10000000000", "19999999999", "12012345678"]
    for raw in samples:
        assert contact.normalize_phone(raw) == contact._parse_phone(raw, "CN"), raw
