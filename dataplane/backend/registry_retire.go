package backend

// PoolSwap is one backend's change in a new routing table: Old, the pool
// the previous table had under the name, gave way to New, the pool built
// for the new table (nil when the backend left it).
type PoolSwap struct {
	Old, New *Pool
}

// Retire is Sweep for a table that differs from the previous one only by
// swaps: what Sweep would retire is found among the servers of the pools
// that left, so a change costs in proportion to what it touched rather than
// to every server there is. A server's state belongs to one backend name,
// and a table has one pool per name, so a state of Old that New does not
// use is used by no live pool. Servers built but never made live (a table
// that failed to compile) are only found by Sweep.
func (r *Registry) Retire(swaps []PoolSwap) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, sw := range swaps {
		if sw.Old == nil || sw.Old == sw.New {
			continue
		}
		var keep map[*state]bool
		if sw.New != nil {
			keep = make(map[*state]bool, len(sw.New.servers))
			for _, s := range sw.New.servers {
				keep[s.st] = true
			}
		}
		for _, s := range sw.Old.servers {
			st := s.st
			if keep[st] || r.servers[st.key] != st {
				continue
			}
			r.retire(st)
			delete(r.servers, st.key)
		}
		if sw.New == nil {
			name := sw.Old.name
			if q := r.queues[name]; q != nil {
				q.close(ErrBackendRetired)
				delete(r.queues, name)
			}
			delete(r.rings, name)
		}
	}
}

// Len is the number of servers the registry keeps live state for.
func (r *Registry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.servers)
}
