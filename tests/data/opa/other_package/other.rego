# Policies that leave data.winpod.decision and data.winpod.batch undefined.
package winpod.other

answer := 42
