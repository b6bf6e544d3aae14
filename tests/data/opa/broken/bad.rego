package winpod.bad

allow if {
	input.user ==
} # the parse error: OPA reports the token after the dangling ==
