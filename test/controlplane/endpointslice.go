package controlplane

import (
	"bytes"
	"context"
	"fmt"
	"path"

	clientv3 "go.etcd.io/etcd/client/v3"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/apimachinery/pkg/util/uuid"
)

// Why EndpointSlices go through etcd: tests run their backends on 127.0.0.x,
// and kube-apiserver's validation refuses loopback endpoint addresses. It
// does not validate what it reads back from storage, so a slice written to
// etcd in the API server's own storage encoding is listed and watched through
// the API like any other, with a resourceVersion from etcd's revision.

// etcdPrefix is kube-apiserver's default --etcd-prefix.
const etcdPrefix = "/registry"

// storageCodec encodes as kube-apiserver stores built-in types by default:
// protobuf, wrapped in the "k8s\x00" envelope that records apiVersion and
// kind, at the storage version discovery.k8s.io/v1.
var storageCodec = func() struct {
	encoder runtime.Encoder
	decoder runtime.Decoder
} {
	scheme := runtime.NewScheme()
	if err := discoveryv1.AddToScheme(scheme); err != nil {
		panic(fmt.Sprintf("register discovery/v1: %v", err))
	}
	codecs := serializer.NewCodecFactory(scheme)
	return struct {
		encoder runtime.Encoder
		decoder runtime.Decoder
	}{
		encoder: codecs.EncoderForVersion(protobuf.NewSerializer(scheme, scheme), discoveryv1.SchemeGroupVersion),
		decoder: codecs.UniversalDeserializer(),
	}
}()

func endpointSliceKey(namespace, name string) string {
	return path.Join(etcdPrefix, "endpointslices", namespace, name)
}

// PutEndpointSlice creates or replaces slice by writing it straight into
// etcd, bypassing validation, so its endpoints may use loopback addresses.
// The stored object gets what the API server would give it: a new UID and
// creation timestamp on create, the old ones and a bumped generation on
// replace. Its resourceVersion is ignored. The namespace is not checked.
func (c *ControlPlane) PutEndpointSlice(ctx context.Context, slice *discoveryv1.EndpointSlice) error {
	if slice.Namespace == "" || slice.Name == "" {
		return fmt.Errorf("put endpointslice %q/%q: namespace and name are required", slice.Namespace, slice.Name)
	}
	key := endpointSliceKey(slice.Namespace, slice.Name)
	obj := slice.DeepCopy()
	obj.ResourceVersion = ""

	prev, err := c.etcdClient.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("put endpointslice %s/%s: read %s: %w", slice.Namespace, slice.Name, key, err)
	}
	// ModRevision 0 in the transaction below means "key absent".
	var prevRevision int64
	if len(prev.Kvs) == 1 {
		prevRevision = prev.Kvs[0].ModRevision
		var old discoveryv1.EndpointSlice
		if _, _, err := storageCodec.decoder.Decode(prev.Kvs[0].Value, nil, &old); err != nil {
			return fmt.Errorf("put endpointslice %s/%s: decode stored object: %w", slice.Namespace, slice.Name, err)
		}
		obj.UID = old.UID
		obj.CreationTimestamp = old.CreationTimestamp
		obj.Generation = old.Generation + 1
	} else {
		if obj.UID == "" {
			obj.UID = uuid.NewUUID()
		}
		if obj.CreationTimestamp.IsZero() {
			obj.CreationTimestamp = metav1.Now()
		}
		obj.Generation = 1
	}

	var buf bytes.Buffer
	if err := storageCodec.encoder.Encode(obj, &buf); err != nil {
		return fmt.Errorf("put endpointslice %s/%s: encode: %w", slice.Namespace, slice.Name, err)
	}
	resp, err := c.etcdClient.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(key), "=", prevRevision)).
		Then(clientv3.OpPut(key, buf.String())).
		Commit()
	if err != nil {
		return fmt.Errorf("put endpointslice %s/%s: write %s: %w", slice.Namespace, slice.Name, key, err)
	}
	if !resp.Succeeded {
		return apierrors.NewConflict(discoveryv1.Resource("endpointslices"), slice.Name,
			fmt.Errorf("changed concurrently in etcd at %s", key))
	}
	return nil
}

// DeleteEndpointSlice removes a slice from etcd; watchers see a DELETED
// event. It returns a NotFound API error if there is no such slice.
func (c *ControlPlane) DeleteEndpointSlice(ctx context.Context, namespace, name string) error {
	key := endpointSliceKey(namespace, name)
	resp, err := c.etcdClient.Delete(ctx, key)
	if err != nil {
		return fmt.Errorf("delete endpointslice %s/%s: %w", namespace, name, err)
	}
	if resp.Deleted == 0 {
		return apierrors.NewNotFound(discoveryv1.Resource("endpointslices"), name)
	}
	return nil
}
