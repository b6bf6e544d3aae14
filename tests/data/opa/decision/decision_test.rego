# Never loaded into a server: load_policies skips tests. If it were, this
# second `decision` would conflict with the real one and every decide fail.
package winpod

decision := "from a test file"
