package link

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modhost/modhost/host/config"
)

func settingsOf(t *testing.T, api string) (settings, error) {
	t.Helper()
	src := `VirtualHost "example.com"
	component_client = { jid = "roster.example.com"; secret = "s" }
	` + api + "\n"
	cfg, err := config.Parse([]byte(src), "test.cfg.lua")
	if err != nil {
		t.Fatal(err)
	}
	s, ok, err := readSettings(cfg, "example.com", Options{})
	if !ok {
		t.Fatal("host not linked")
	}
	return s, err
}

func TestEjabberdAPIOptionSelectsTheAPIWriterWithLoopbackDefaults(t *testing.T) {
	s, err := settingsOf(t, "")
	if err != nil || s.api != nil {
		t.Fatalf("without ejabberd_api: %+v, %v", s.api, err)
	}
	s, err = settingsOf(t, "ejabberd_api = {}")
	if err != nil || s.api == nil || s.api.URL != "" || s.sessionsInterval != 5*time.Second || s.shared {
		t.Fatalf("ejabberd_api = {}: %+v interval %v, %v", s.api, s.sessionsInterval, err)
	}
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte("tok\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err = settingsOf(t, `ejabberd_api = { url = "https://xmpp.example.net/api"; token_file = "`+token+`"; sessions_interval = 2; timeout = 3 }`)
	if err != nil || s.api.Token != "tok" || s.sessionsInterval != 2*time.Second || s.api.Timeout != 3*time.Second {
		t.Fatalf("token_file: %+v %v, %v", s.api, s.sessionsInterval, err)
	}
	if s, err = settingsOf(t, "ejabberd_api = { shared = true }"); err != nil || !s.shared {
		t.Fatalf("shared = true: %v, %v", s.shared, err)
	}
}

func TestEjabberdAPIOptionRefusesWhatCannotWork(t *testing.T) {
	for api, want := range map[string]string{
		`ejabberd_api = { url = "http://10.1.2.3:5281/api" }`:          "not on loopback",
		`ejabberd_api = "http://127.0.0.1:5281/api"`:                   "want a table",
		`ejabberd_api = { user = "admin@example.com" }`:                "user and password go together",
		`ejabberd_api = { token_file = "/nonexistent/modhost-token" }`: "token_file",
		`ejabberd_api = { sessions_interval = 0 }`:                     "sessions_interval must be a positive number",
		`ejabberd_api = { url = "127.0.0.1:5281" }`:                    "want http(s)://",
		`ejabberd_api = { shared = "yes" }`:                            "shared must be true or false",
	} {
		_, err := settingsOf(t, api)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "ejabberd_api of example.com") {
			t.Errorf("%s: %v, want an error saying %q", api, err, want)
		}
	}
}
