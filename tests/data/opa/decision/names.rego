package winpod.names

same(a, b) if lower(a) == lower(b)
