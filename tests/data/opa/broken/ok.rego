package winpod.ok

answer := 42
