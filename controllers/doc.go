// Package controllers turns cluster state into sluice's configuration: it
// watches Ingresses, IngressClasses, Services, EndpointSlices and the TCP
// services ConfigMap through controller-runtime's informer caches,
// translates them with the pure function in package translate, and hands the
// result to an Applier (the dataplane). It also reports what it could not
// honor as Events and, on the elected leader only, writes Ingress status.
//
// It must not import the dataplane: data flows cluster -> config -> table.
package controllers
