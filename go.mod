module github.com/keychain-auth/keychain-auth

go 1.26.8

require github.com/google/go-cmp v0.7.0
