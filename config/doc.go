// Package config is sluice's routing model and its HAProxy-style
// configuration language.
//
// The model (Config, Frontend, Backend, ACL, Condition...) is what the
// Kubernetes translation produces and what the dataplane compiles; it knows
// nothing of Kubernetes, sockets or listeners, and this package must never
// import either.
//
// # Language
//
// Parse reads the subset of HAProxy's configuration language that sluice
// implements, with HAProxy's semantics: global, defaults (anonymous or named,
// each applying to the proxies that follow it or to those naming it with
// `from`), frontend, backend and listen sections. A listen becomes a Frontend
// and a Backend of the same name; the frontend's DefaultBackend is the
// listen itself unless a default_backend says otherwise, and a listen
// without bind is only a backend.
//
// Nothing is ignored silently. A directive HAProxy knows but sluice does not
// implement is an error ("not supported by sluice"), a directive that has no
// meaning for an in-process proxy (daemon, log, stats socket...) is accepted
// with a Warning, and anything else is an unknown keyword. Parse reports
// every error of a file at once, as an ErrorList of FILE:LINE: 'keyword':
// message lines.
//
// # Effective settings
//
// Defaults are folded in by the parser: every Frontend and Backend carries
// its complete settings, including HAProxy's built-in defaults (retries 3,
// server weight 1, inter 2s, rise 2, fall 3, redirect code 302, deny status
// 403, return status 200). Configurations built in code should start from
// NewServer; a zero redirect code or rule status means the default too.
//
// Settings live on the side of the proxy that uses them, as in HAProxy:
// Frontend.Timeouts holds client, http-request and http-keep-alive;
// Backend.Timeouts holds connect, server, queue, tunnel, check,
// http-request and http-keep-alive. Options.Redispatch is a backend setting.
// Validate refuses a setting on the wrong side.
//
// In a listen, ACLs and http-request/http-response rules are put on the
// frontend, which is where they run.
//
// # Conditions
//
// A Condition is an OR of ANDs of Terms. A Term names ACLs declared in the
// same proxy (several declarations with one name are ORed) or one of
// HAProxy's predefined ACLs (see IsPredefinedACL), which are kept by name
// for the dataplane to evaluate; or it holds an anonymous ACL inline.
//
// # Printing
//
// Print writes a Config back in the same language; Parse(Print(c)) equals c
// apart from positions for every c that Parse returned.
package config
