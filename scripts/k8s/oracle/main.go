// Command oracle records what upstream Go code answers for every input in
// test/provider/oracle/cases.json (read on stdin) and prints the answers as JSON on stdout, in
// the sections of test/provider/oracle/kubelet-answers.json. It calls only
// k8s.io/kubernetes/pkg/credentialprovider of the release this module pins and Go's standard
// library. Go's GODEBUG defaults come from this module's go line, as for the kubelets the test
// environment builds here; it is the release's own go line and `godebug default` (go mod tidy
// raises it to that on a bump). It holds no rule of ours: it reads inputs, calls upstream, and
// prints the answers. scripts/record-oracle runs it.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"time"

	"k8s.io/kubernetes/pkg/credentialprovider"
)

type cases struct {
	URLsMatch [][2]string `json:"urlsMatch"`
	Parse     []string    `json:"parse"`
	Keys      []string    `json:"keys"`
	Auth      []string    `json:"auth"`
	Lookup    []struct {
		Name   string          `json:"name"`
		Config json.RawMessage `json:"config"`
		Images []string        `json:"images"`
	} `json:"lookup"`
	Globs     [][2]string `json:"globs"`
	Durations []string    `json:"durations"`
}

// Fields in the order of the committed file; empty strings are left out.
type answers struct {
	Auth      []authAnswer     `json:"auth"`
	Durations []durationAnswer `json:"durations"`
	Globs     [][3]string      `json:"globs"`
	Keys      []keyAnswer      `json:"keys"`
	Lookup    []lookupAnswer   `json:"lookup"`
	Parse     []parseAnswer    `json:"parse"`
	URLsMatch [][3]any         `json:"urlsMatch"`
}

type authAnswer struct {
	Input    string `json:"input"`
	OK       bool   `json:"ok"`
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
}

type durationAnswer struct {
	Input  string `json:"input"`
	OK     bool   `json:"ok"`
	Nanos  string `json:"nanos,omitempty"`
	String string `json:"string,omitempty"`
	Error  string `json:"error,omitempty"`
}

type keyAnswer struct {
	Input string `json:"input"`
	OK    bool   `json:"ok"`
	Host  string `json:"host,omitempty"`
}

type lookupAnswer struct {
	Name   string              `json:"name"`
	Images map[string][]string `json:"images"`
	Error  bool                `json:"error,omitempty"`
}

type parseAnswer struct {
	Input string `json:"input"`
	OK    bool   `json:"ok"`
	Host  string `json:"host,omitempty"`
	Path  string `json:"path,omitempty"`
}

func main() {
	var in cases
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintln(os.Stderr, "oracle: cases on stdin:", err)
		os.Exit(1)
	}
	out := answers{
		Auth:      []authAnswer{},
		Durations: []durationAnswer{},
		Globs:     [][3]string{},
		Keys:      []keyAnswer{},
		Lookup:    []lookupAnswer{},
		Parse:     []parseAnswer{},
		URLsMatch: [][3]any{},
	}
	for _, c := range in.URLsMatch {
		// Lookup ignores the error the same way.
		matched, _ := credentialprovider.URLsMatchStr(c[0], c[1])
		out.URLsMatch = append(out.URLsMatch, [3]any{c[0], c[1], matched})
	}
	for _, s := range in.Parse {
		out.Parse = append(out.Parse, parse(s))
	}
	for _, s := range in.Keys {
		out.Keys = append(out.Keys, key(s))
	}
	for _, s := range in.Auth {
		out.Auth = append(out.Auth, auth(s))
	}
	for _, c := range in.Lookup {
		out.Lookup = append(out.Lookup, lookup(c.Name, c.Config, c.Images))
	}
	for _, c := range in.Globs {
		out.Globs = append(out.Globs, [3]string{c[0], c[1], glob(c[0], c[1])})
	}
	for _, s := range in.Durations {
		out.Durations = append(out.Durations, duration(s))
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "oracle:", err)
		os.Exit(1)
	}
}

// parse is ParseSchemelessURL: url.Parse("https://" + s).
func parse(s string) parseAnswer {
	u, err := credentialprovider.ParseSchemelessURL(s)
	if err != nil {
		return parseAnswer{Input: s}
	}
	return parseAnswer{Input: s, OK: true, Host: u.Host, Path: u.Path}
}

// key is the index entry BasicDockerKeyring.Add stores for a docker config key (unexported, so
// read by reflection); no entry means Add ignored the key.
func key(s string) keyAnswer {
	var keyring credentialprovider.BasicDockerKeyring
	keyring.Add(nil, credentialprovider.DockerConfig{s: {}})
	index := reflect.ValueOf(&keyring).Elem().FieldByName("index")
	if index.Len() == 0 {
		return keyAnswer{Input: s}
	}
	return keyAnswer{Input: s, OK: true, Host: index.Index(0).String()}
}

// auth decodes an "auth" field through DockerConfigEntry.UnmarshalJSON.
func auth(s string) authAnswer {
	entryJSON, err := json.Marshal(map[string]string{"auth": s})
	if err != nil {
		panic(err)
	}
	var entry credentialprovider.DockerConfigEntry
	if err := json.Unmarshal(entryJSON, &entry); err != nil {
		return authAnswer{Input: s}
	}
	return authAnswer{Input: s, OK: true, Username: entry.Username, Password: entry.Password}
}

// lookup reads a config.json the way the kubelet reads a kubernetes.io/dockerconfigjson pull
// secret (pkg/credentialprovider/secrets), and lists the usernames Lookup returns per image.
func lookup(name string, config []byte, images []string) lookupAnswer {
	a := lookupAnswer{Name: name, Images: map[string][]string{}}
	var cfg credentialprovider.DockerConfigJSON
	if err := json.Unmarshal(config, &cfg); err != nil {
		a.Error = true
		return a
	}
	var keyring credentialprovider.BasicDockerKeyring
	keyring.Add(nil, cfg.Auths)
	for _, image := range images {
		creds, _ := keyring.Lookup(image)
		users := []string{}
		for _, c := range creds {
			users = append(users, c.Username)
		}
		a.Images[image] = users
	}
	return a
}

// glob is filepath.Match, which URLsMatch applies to each label of a host.
func glob(pattern, name string) string {
	matched, err := filepath.Match(pattern, name)
	switch {
	case err != nil:
		return "bad-pattern"
	case matched:
		return "match"
	default:
		return "no-match"
	}
}

// duration is time.ParseDuration and Duration.String, nanoseconds as a decimal string (past 2^53).
func duration(s string) durationAnswer {
	d, err := time.ParseDuration(s)
	if err != nil {
		return durationAnswer{Input: s, Error: err.Error()}
	}
	return durationAnswer{Input: s, OK: true, Nanos: strconv.FormatInt(int64(d), 10), String: d.String()}
}
