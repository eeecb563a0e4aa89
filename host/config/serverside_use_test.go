package config

import "testing"

func TestServerSideByUse(t *testing.T) {
	for _, tc := range []struct {
		name         string
		hooks, items []string
		server       bool
	}{
		{"an auth provider, whatever else", []string{"http-foo"}, []string{"auth-provider", "http-provider"}, true},
		{"stream and s2s hooks only", []string{"s2s-authenticated", "stream-features"}, nil, true},
		{"neutral hooks count for neither", []string{"config-reloaded", "s2s-check-certificate"}, nil, true},
		{"disco features only", nil, []string{"feature"}, true},
		{"an HTTP route too", []string{"muc-room-created"}, []string{"http-provider"}, false},
		{"an own event too", []string{"iq/host", "my-plugin-event"}, nil, false},
		{"nothing at all", nil, nil, false},
		{"neutral hooks only", []string{"module-loaded"}, nil, false},
	} {
		if got := ServerSideByUse(tc.hooks, tc.items) != ""; got != tc.server {
			t.Errorf("%s: server-side %v, want %v", tc.name, got, tc.server)
		}
	}
}

func TestHasServerSideShape(t *testing.T) {
	for name, want := range map[string]bool{
		"auth_token": true, "sasl2_x": true, "s2s_blacklist": true, "muc_log_view": true,
		"auth": false, "http_auth_check": false, "hello": false, "saslauth_x": true,
	} {
		if HasServerSideShape(name) != want {
			t.Errorf("%s: shape %v, want %v", name, !want, want)
		}
	}
}
